package signal

import (
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on an urlencoded form, those of the qs library that koa's body
// parser used.
const (
	formMaxFields = 1000 // fields in one body
	formMaxDepth  = 5    // bracketed segments in one key; the rest stays one key
	formMaxIndex  = 20   // largest numeric segment taken as an array index
)

var errFormShape = errors.New("conflicting fields")

// parseForm decodes an application/x-www-form-urlencoded body into the
// object qs makes of it, for the cases a signalling client sends:
//
//	a=1&a=2            {"a": ["1", "2"]}
//	d[x]=1&d[y][z]=2   {"d": {"x": "1", "y": {"z": "2"}}}
//	l[]=1&l[]=2        {"l": ["1", "2"]}
//	l[1]=b&l[0]=a      {"l": ["a", "b"]}  (indices up to 20; sparse ones close up)
//
// A key that is not a name followed by bracketed segments is taken as
// it is; segments past the fifth stay one key, brackets and all. Values
// are strings. Fields that give one name two shapes (a=1&a[b]=2) are an
// error, where qs would guess.
func parseForm(body string) (map[string]any, error) {
	root := make(map[string]any)
	n := 0
	for field := range strings.SplitSeq(body, "&") {
		if field == "" {
			continue
		}
		if n++; n > formMaxFields {
			return nil, errors.New("more than 1000 fields")
		}
		rawKey, rawVal, _ := strings.Cut(field, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, err
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			return nil, err
		}
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			// JSON would turn the bad bytes into U+FFFD: refuse, as a
			// JSON body that is not UTF-8 is refused.
			return nil, errors.New("field " + strconv.Quote(key) + " is not valid UTF-8")
		}
		parent, segs := splitKey(key)
		v, err := put(root[parent], segs, val)
		if err != nil {
			return nil, errors.New(errFormShape.Error() + " named " + strconv.Quote(parent))
		}
		root[parent] = v
	}
	for k, v := range root {
		root[k] = finish(v)
	}
	return root, nil
}

// splitKey splits "a[b][c]" into "a" and ["b", "c"].
func splitKey(key string) (string, []string) {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return key, nil
	}
	parent, rest := key[:i], key[i:]
	var segs []string
	for rest != "" && len(segs) < formMaxDepth {
		j := strings.IndexByte(rest, ']')
		if rest[0] != '[' || j < 0 || strings.IndexByte(rest[1:j], '[') >= 0 {
			return key, nil
		}
		segs = append(segs, rest[1:j])
		rest = rest[j+1:]
	}
	if rest != "" {
		segs = append(segs, rest)
	}
	return parent, segs
}

// formList is an array being built from "[]" and "[n]" segments; finish
// turns it into a []any ordered by index.
type formList struct {
	items map[int]any
	next  int
}

func (l *formList) set(i int, v any) {
	l.items[i] = v
	l.next = max(l.next, i+1)
}

func newList(vs ...any) *formList {
	l := &formList{items: make(map[int]any)}
	for _, v := range vs {
		l.set(l.next, v)
	}
	return l
}

// put stores val at segs below cur (nil, a string, a *formList or a
// map[string]any) and returns the new cur.
func put(cur any, segs []string, val string) (any, error) {
	if len(segs) == 0 {
		switch c := cur.(type) {
		case nil:
			return val, nil
		case string:
			return newList(c, val), nil
		case *formList:
			c.set(c.next, val)
			return c, nil
		}
		return nil, errFormShape
	}
	seg, rest := segs[0], segs[1:]
	if i, isIndex := listIndex(seg); isIndex {
		if _, isMap := cur.(map[string]any); !isMap {
			l, err := asList(cur)
			if err != nil {
				return nil, err
			}
			if i < 0 {
				i = l.next
			}
			v, err := put(l.items[i], rest, val)
			if err != nil {
				return nil, err
			}
			l.set(i, v)
			return l, nil
		}
	}
	var obj map[string]any
	switch c := cur.(type) {
	case nil:
		obj = make(map[string]any)
	case map[string]any:
		obj = c
	default:
		return nil, errFormShape
	}
	v, err := put(obj[seg], rest, val)
	if err != nil {
		return nil, err
	}
	obj[seg] = v
	return obj, nil
}

// listIndex reports whether seg addresses an array: "" appends (-1), a
// small number is an index.
func listIndex(seg string) (int, bool) {
	if seg == "" {
		return -1, true
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 || i > formMaxIndex || strconv.Itoa(i) != seg {
		return 0, false
	}
	return i, true
}

func asList(cur any) (*formList, error) {
	switch c := cur.(type) {
	case nil:
		return newList(), nil
	case string:
		return newList(c), nil
	case *formList:
		return c, nil
	}
	return nil, errFormShape
}

// finish turns every *formList below v into a []any.
func finish(v any) any {
	switch c := v.(type) {
	case *formList:
		out := make([]any, 0, len(c.items))
		for _, i := range slices.Sorted(maps.Keys(c.items)) {
			out = append(out, finish(c.items[i]))
		}
		return out
	case map[string]any:
		for k, e := range c {
			c[k] = finish(e)
		}
	}
	return v
}
