// The chat page: one EventSource per joined room. The browser does the
// hard part by itself: when a stream drops it reconnects after the retry
// delay the server sent, with a Last-Event-ID header naming the last
// event it saw, and the server replays what was missed before going on.
'use strict';

const $ = (id) => document.getElementById(id);
const log = $('log');
const roomList = $('rooms');
const postForm = $('post');
const text = $('text');

// name -> {es, li, state, opened}
const rooms = new Map();
let current = null;

const stateLabels = {
  connecting: 'connecting…',
  open: 'connected',
  reconnecting: 'reconnecting…',
  closed: 'closed',
};

function join(name) {
  if (rooms.has(name)) {
    select(name);
    return;
  }
  const li = document.createElement('li');
  li.dataset.room = name;
  const pick = document.createElement('button');
  pick.type = 'button';
  pick.className = 'pick';
  pick.textContent = '#' + name;
  pick.addEventListener('click', () => select(name));
  const dot = document.createElement('span');
  dot.className = 'dot';
  const leaveButton = document.createElement('button');
  leaveButton.type = 'button';
  leaveButton.className = 'leave';
  leaveButton.textContent = '×';
  leaveButton.title = 'Leave #' + name;
  leaveButton.setAttribute('aria-label', 'Leave ' + name);
  leaveButton.addEventListener('click', () => leave(name));
  li.append(pick, dot, leaveButton);
  roomList.append(li);

  const r = {es: new EventSource('/events/' + encodeURIComponent(name)), li, state: '', opened: false};
  rooms.set(name, r);
  setState(r, 'connecting');

  r.es.addEventListener('open', () => {
    if (r.opened) {
      // What was missed while away follows this line: the server replays
      // it from the Last-Event-ID the browser sent.
      note(name, 'Reconnected to #' + name + '.');
    }
    r.opened = true;
    setState(r, 'open');
  });
  r.es.addEventListener('error', () => {
    if (r.es.readyState === EventSource.CLOSED) {
      // A 204 (the server is shutting down) or an error status: the
      // browser gives up for good.
      note(name, 'The server closed #' + name + '.');
      setState(r, 'closed');
    } else if (r.state === 'open') {
      note(name, 'Lost #' + name + ', reconnecting…');
      setState(r, 'reconnecting');
    }
  });
  // Posts are unnamed events, which arrive as "message".
  r.es.onmessage = (e) => message(name, e.data, e.lastEventId);
  r.es.addEventListener('time', (e) => clock(e.data));
  r.es.addEventListener('resync', () => {
    note(name, 'Some messages of #' + name + ' are too old to be replayed.');
  });

  select(name);
  saveRooms();
}

function leave(name) {
  const r = rooms.get(name);
  if (!r) {
    return;
  }
  r.es.close();
  r.li.remove();
  rooms.delete(name);
  if (current === name) {
    select(rooms.size > 0 ? rooms.keys().next().value : null);
  }
  saveRooms();
  overall();
}

function select(name) {
  current = name;
  for (const [n, r] of rooms) {
    r.li.classList.toggle('current', n === name);
  }
  const on = name !== null;
  text.disabled = !on;
  postForm.querySelector('button').disabled = !on;
  text.placeholder = on ? 'Message #' + name : 'Join a room to chat';
  if (on) {
    text.focus();
  }
}

function setState(r, state) {
  r.state = state;
  r.li.dataset.state = state;
  r.li.querySelector('.dot').title = stateLabels[state];
  overall();
}

// overall shows the worst state of any room.
function overall() {
  const conn = $('conn');
  let state = 'idle';
  for (const s of ['open', 'connecting', 'reconnecting', 'closed']) {
    for (const r of rooms.values()) {
      if (r.state === s) {
        state = s;
      }
    }
  }
  conn.dataset.state = state;
  conn.textContent = state === 'idle' ? 'no rooms' : stateLabels[state];
}

function append(li) {
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(li);
  if (atEnd) {
    li.scrollIntoView({block: 'end'});
  }
}

function message(room, data, id) {
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.room = room;
  li.dataset.id = id;
  const tag = document.createElement('span');
  tag.className = 'room';
  tag.textContent = '#' + room;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = data; // never innerHTML: messages are untrusted
  const at = document.createElement('time');
  at.textContent = new Date().toLocaleTimeString([], {hour12: false});
  at.title = 'event id ' + id;
  li.append(tag, body, at);
  append(li);
}

function note(room, s) {
  const li = document.createElement('li');
  li.className = 'note';
  li.dataset.room = room;
  li.textContent = s;
  append(li);
}

function clock(rfc3339) {
  const t = new Date(rfc3339);
  if (!Number.isNaN(t.getTime())) {
    $('clock').textContent = t.toLocaleTimeString([], {hour12: false});
    $('clock').dateTime = rfc3339;
  }
}

// The joined rooms live in the address, so a reload or a shared link
// rejoins them: /#lobby,garden.
function saveRooms() {
  history.replaceState(null, '', '#' + [...rooms.keys()].map(encodeURIComponent).join(','));
}

function loadRooms() {
  const names = location.hash.slice(1).split(',').filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return '';
    }
  });
  return names.filter(valid);
}

function valid(name) {
  return name !== '' && name !== '*' && new TextEncoder().encode(name).length <= 256;
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('room');
  const name = input.value.trim();
  if (valid(name)) {
    join(name);
    input.value = '';
  }
});

postForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = current;
  const s = text.value;
  if (room === null || s.trim() === '') {
    return;
  }
  try {
    const resp = await fetch('/rooms/' + encodeURIComponent(room), {method: 'POST', body: s});
    if (!resp.ok) {
      throw new Error(resp.status + ' ' + (await resp.text()).trim());
    }
    text.value = '';
  } catch (err) {
    note(room, 'Could not send to #' + room + ': ' + err.message);
  }
});

const initial = loadRooms();
for (const name of initial.length > 0 ? initial : ['lobby']) {
  join(name);
}
