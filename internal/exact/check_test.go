package exact

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a published history and the reference observer's trace of
// it: event i gets the generated id 100+i unless it has a caller id.
type fixture struct {
	pubs map[string]Pub
	ref  Trace
	ids  map[string]string
}

// newFixture takes "token:room" or "token:room:callerID" specs.
func newFixture(specs ...string) *fixture {
	f := &fixture{pubs: map[string]Pub{}, ids: map[string]string{}}
	conn := Conn{Status: 200, Recs: []Rec{{Kind: RecPosition, ID: "99", HasID: true}}}
	for i, s := range specs {
		parts := strings.Split(s, ":")
		p := Pub{Room: parts[1], OK: true}
		id := strconv.Itoa(100 + i)
		if len(parts) == 3 {
			p.CallerID, id = parts[2], parts[2]
		}
		f.pubs[parts[0]], f.ids[parts[0]] = p, id
		conn.Recs = append(conn.Recs, Rec{Kind: RecEvent, Token: parts[0], ID: id, HasID: true})
	}
	conn.End = conn.Recs[len(conn.Recs)-1].ID
	f.ref = Trace{Name: "observer", Conns: []Conn{conn}}
	return f
}

func (f *fixture) ev(tok string) Rec {
	return Rec{Kind: RecEvent, Token: tok, ID: f.ids[tok], HasID: true}
}

func pos(id string) Rec { return Rec{Kind: RecPosition, ID: id, HasID: true} }

func resyncRec(lastID, p string) Rec {
	return Rec{Kind: RecResync, ID: p, HasID: true, Data: resyncData(lastID)}
}

// conn makes a connection opened with lastID that read recs.
func conn(lastID string, recs ...Rec) Conn {
	c := Conn{Status: 200, LastID: lastID, Recs: recs, End: lastID}
	for _, r := range recs {
		c.End = r.ID
	}
	return c
}

func (f *fixture) check(opt Options, rooms []string, conns ...Conn) *Result {
	return Check(f.pubs, f.ref, []Trace{{Name: "lineage", Rooms: rooms, Conns: conns}}, opt)
}

var hist = []string{"a1:a", "b1:b", "a2:a", "all1:*", "a3:a", "c1:a:mine-1", "a4:a", "b2:b", "a5:a"}

func TestCheckAccepts(t *testing.T) {
	t.Parallel()
	f := newFixture(hist...)
	cases := []struct {
		name  string
		rooms []string
		conns []Conn
		opt   Options
	}{
		{"one stream", []string{"a"}, []Conn{
			conn("", pos("99"), f.ev("a1"), f.ev("a2"), f.ev("all1"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"resumed twice, once by a caller id", []string{"a", "b"}, []Conn{
			conn("", pos("99"), f.ev("a1")),
			conn("100", f.ev("b1"), f.ev("a2"), f.ev("all1"), f.ev("a3"), f.ev("c1")),
			conn("mine-1", f.ev("a4"), f.ev("b2"), f.ev("a5")),
		}, Options{}},
		{"cut before anything, resumed from the position", []string{"b"}, []Conn{
			conn("", pos("99")),
			conn("99", f.ev("b1"), f.ev("all1"), f.ev("b2")),
		}, Options{}},
		{"started late", []string{"a"}, []Conn{
			conn("", pos("103"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"resync then everything after it, a gap before", []string{"a"}, []Conn{
			conn("", pos("99"), f.ev("a1")),
			conn("100", resyncRec("100", "104"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"a position before caller-id events may count them before or after", []string{"a"}, []Conn{
			conn("", pos("105"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"the same, after", []string{"a"}, []Conn{
			conn("", pos("105"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"a backplane's gap resync mid-stream", []string{"a"}, []Conn{
			conn("", pos("99"), f.ev("a1"), Rec{Kind: RecResync, ID: "104", HasID: true, Data: `{"lastEventId":""}`}, f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{GapResyncs: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := f.check(tc.opt, tc.rooms, tc.conns...)
			assert.False(t, res.Failed(), res.Format(10, 50))
		})
	}
}

func TestCheckFinds(t *testing.T) {
	t.Parallel()
	f := newFixture(hist...)
	all := func(recs ...Rec) []Rec { return append([]Rec{pos("99")}, recs...) }
	cases := []struct {
		name  string
		want  []string // kinds, in any order
		rooms []string
		conns []Conn
		opt   Options
	}{
		{"duplicate across a resume", []string{KindDuplicate, KindIDsDecrease}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"), f.ev("a2"))...),
			conn("100", f.ev("a2"), f.ev("all1"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"gap in a replay", []string{KindGap}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"))...),
			conn("100", f.ev("all1"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"reorder across rooms", []string{KindReorder, KindIDsDecrease}, []string{"a", "b"}, []Conn{
			conn("", all(f.ev("a1"), f.ev("a2"), f.ev("b1"), f.ev("all1"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("b2"), f.ev("a5"))...),
		}, Options{}},
		{"resync after a live event", []string{KindResyncLate, KindGap}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"))...),
			conn("100", f.ev("a3"), resyncRec("100", "104"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{GapResyncs: true}},
		{"resync without a position", []string{KindResyncNoID}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"))...),
			conn("100", Rec{Kind: RecResync, ID: "100", Data: resyncData("100")}, f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"gap after a resync", []string{KindGap}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"))...),
			conn("100", resyncRec("100", "102"), f.ev("a3"), f.ev("c1"), f.ev("a5")),
		}, Options{}},
		{"new stream without position", []string{KindNoPosition}, []string{"a"}, []Conn{
			conn("", f.ev("a1"), f.ev("a2"), f.ev("all1"), f.ev("a3"), f.ev("c1"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"mid-stream resync in process", []string{KindResyncLate}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"), Rec{Kind: RecResync, ID: "104", HasID: true, Data: `{"lastEventId":""}`}, f.ev("c1"), f.ev("a4"), f.ev("a5"))...),
		}, Options{}},
		{"did not catch up", []string{KindNotDrained}, []string{"a"}, []Conn{
			conn("", all(f.ev("a1"), f.ev("a2"))...),
		}, Options{}},
		{"foreign event and changed caller id", []string{KindForeign, KindCallerID, KindExtra}, []string{"b"}, []Conn{
			conn("", all(f.ev("b1"), f.ev("all1"), Rec{Kind: RecEvent, Token: "c1", ID: "105", HasID: true}, f.ev("b2"))...),
		}, Options{}},
		{"a position that is an event's id is exact", []string{KindGap}, []string{"a"}, []Conn{
			conn("", pos("104"), f.ev("a4"), f.ev("a5")),
		}, Options{}},
		{"id not decimal", []string{KindIDForm}, []string{"b"}, []Conn{
			conn("", all(f.ev("b1"), f.ev("all1"), Rec{Kind: RecEvent, Token: "b2", ID: "107-0", HasID: true})...),
		}, Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := f.check(tc.opt, tc.rooms, tc.conns...)
			var got []string
			for k := range res.Counts {
				got = append(got, k)
			}
			assert.ElementsMatch(t, tc.want, got, res.Format(10, 50))
		})
	}
}

func TestCheckReference(t *testing.T) {
	t.Parallel()
	f := newFixture("a1:a", "a2:a")
	f.pubs["lost"] = Pub{Room: "a", OK: true}
	f.pubs["failed"] = Pub{Room: "a"}
	res := Check(f.pubs, f.ref, nil, Options{})
	require.Equal(t, map[string]int{KindReferenceMiss: 1}, res.Counts, res.Format(10, 50))
	assert.Contains(t, res.Format(10, 50), "lost")
	assert.NotContains(t, res.Format(10, 50), "failed", "a failed publish may be missing")
}

func TestFormatCaps(t *testing.T) {
	t.Parallel()
	res := &Result{}
	for i := range 100 {
		res.add(KindGap, "l", "gap %d", i)
	}
	res.add(KindDuplicate, "l", "dup")
	out := res.Format(3, 20)
	assert.Equal(t, 4, strings.Count(out, "\n["), out)
	assert.Contains(t, out, "101 violations: gap 100; duplicate 1;")
	assert.Contains(t, out, "(97 more not shown)")
	assert.Len(t, res.Violations, maxPerKind+1)
}
