// The "Voice & video" panel of the puzzle view: a call among the players of
// one session, over a second SignalR connection to the node's /webrtchub
// (docs/webrtc.md). The room is `session:<sessionId>`, the name the display
// name; every member gets an RTCPeerConnection to every other (a mesh, see
// mesh.js), so media and the data channel go browser to browser.
//
// - Joining does not wait for the camera: the page enters the room at once
//   and asks for camera and microphone alongside. Both may be missing or
//   declined; the call then receives only, and a later grant (the toggles)
//   renegotiates.
// - A reconnect of the hub gets a new connection id: the node has told the
//   others the old one left, so the page drops its peers and joins again;
//   the others offer to the new id.
// - Leaving (the button, another session, the lobby, closing the page)
//   stops the connection, which leaves the room (UserLeft to the others).

import { auth } from './api.js';
import { Hub, hubError } from './hub.js';
import { MAX_TEXT, Peer } from './mesh.js';
import { describeError, el, toast } from './ui.js';

const EVENTS = [
  'ExistingParticipants', 'UserJoined', 'UserLeft', 'ReceiveOffer', 'ReceiveAnswer',
  'ReceiveIceCandidate', 'ReceiveSignal',
];
const RELAYS = ['ReceiveOffer', 'ReceiveAnswer', 'ReceiveIceCandidate'];
// Small tiles in a mesh of up to 16: a modest picture keeps the uplink sane.
const VIDEO = { width: { ideal: 480 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 } };
const MAX_MESSAGES = 100; // data channel texts kept for channelMessages()
const NAME_FALLBACK = 'Guest';

const PEER_STATE_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: '',
  disconnected: 'Connection unstable…',
  failed: 'No connection',
  closed: 'Left',
};

/** What to tell the player when getUserMedia fails. */
function mediaProblem(err) {
  const still = 'you can still see and hear the others.';
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Camera and microphone are blocked for this page: ${still}`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No camera or microphone found: ${still}`;
    case 'NotReadableError':
      return `The camera or microphone is busy in another program: ${still}`;
    default:
      return `Camera and microphone are not available (${err?.name ?? 'unknown'}): ${still}`;
  }
}

function initial(name) {
  return [...(name || '?').trim()][0]?.toUpperCase() ?? '?';
}

export class Call {
  /** `root`: the panel's section; `onChange(inCall)` when joining or leaving. */
  constructor(root, { sessionId, onChange = () => {} }) {
    this.root = root;
    this.room = `session:${sessionId}`;
    this.onChange = onChange;
    this.hub = null;
    this.hubOff = [];
    this.joined = false; // the player wants to be in the call
    this.inRoom = false; // JoinRoom answered on the current connection
    this.roomConnectionId = null; // the connection id the peers belong to
    this.peers = new Map(); // connection id -> Peer
    this.tiles = new Map(); // connection id -> {li, video, name, status, tracks}
    this.media = { audio: null, video: null };
    this.micOn = true;
    this.acquiring = Promise.resolve();
    this.messages = [];
    this.el = {
      join: root.querySelector('[data-testid=call-join]'),
      leave: root.querySelector('[data-testid=call-leave]'),
      mic: root.querySelector('[data-role=call-mic]'),
      camera: root.querySelector('[data-role=call-camera]'),
      controls: root.querySelector('[data-role=call-controls]'),
      tiles: root.querySelector('[data-role=call-tiles]'),
      status: root.querySelector('[data-role=call-status]'),
      hint: root.querySelector('[data-role=call-hint]'),
    };
    // The panel outlives this object (one per opened session).
    this.listening = new AbortController();
    const { signal } = this.listening;
    this.el.join.addEventListener('click', () => this.join(), { signal });
    this.el.leave.addEventListener('click', () => this.leave(), { signal });
    this.el.mic.addEventListener('click', () => this.toggleMic(), { signal });
    this.el.camera.addEventListener('click', () => this.toggleCamera(), { signal });
    window.addEventListener('pagehide', () => this.leave(), { signal });
    // Where the browser refused to play sound without a gesture (Safari),
    // the next touch or click anywhere starts the tiles.
    document.addEventListener('pointerdown', () => this.resumePlayback(), { signal });
    this.selfTile = this.makeTile({ testid: 'call-self', self: true });
    this.setHint('');
    this.render();
    this.installTestHooks();
  }

  destroy() {
    this.leave();
    this.listening.abort();
    if (window.puzzleCall === this.testHooks) delete window.puzzleCall;
  }

  // -------------------------------------------------------------------------
  // Joining and leaving.

  async join() {
    if (this.joined) return;
    this.joined = true;
    this.micOn = true;
    this.setHint('');
    const hub = new Hub({ path: '/webrtchub', events: EVENTS });
    this.hub = hub;
    const on = (name, fn) => this.hubOff.push(hub.on(name, fn));
    on('ExistingParticipants', (list) => {
      console.info(`call: in the room already: ${JSON.stringify(list)}`);
      for (const p of Array.isArray(list) ? list : []) {
        this.ensurePeer(p.connectionId, p.userName, { initiator: false });
      }
    });
    on('UserJoined', (id, name) => {
      console.info(`call: ${id} joined`);
      const known = this.peers.get(id);
      if (known) {
        known.name = name; // joining again renames
        this.renderPeer(known);
      } else {
        this.ensurePeer(id, name, { initiator: true });
      }
    });
    on('UserLeft', (id) => {
      console.info(`call: ${id} left`);
      this.dropPeer(id);
    });
    for (const method of RELAYS) {
      on(method, (payload, from) => {
        // The hub relays only within the room, after ExistingParticipants or
        // UserJoined named the sender; anything else is left over from a
        // peer already dropped.
        const peer = this.peers.get(from);
        if (peer) peer.receive(method, payload);
        else console.info(`call: ${method} from ${from}, not a member: ignored`);
      });
    }
    this.hubOff.push(hub.onStatus((status) => {
      if (status !== 'connected') this.inRoom = false; // until the rejoin answers
      this.render();
    }));
    this.hubOff.push(hub.onConnected(() => this.enterRoom(hub)));
    this.render();
    this.onChange(true);
    // Not awaited: the room does not wait for a permission prompt.
    this.acquire({ audio: true, video: true });
    await hub.start();
  }

  /** After every (re)connect: a fresh start under the new connection id. */
  async enterRoom(hub) {
    if (hub !== this.hub) return;
    this.inRoom = false;
    // Peers belong to a connection id; on the same one (a retried join)
    // they stay, as they do for the others.
    if (hub.connectionId !== this.roomConnectionId) this.closePeers();
    this.roomConnectionId = hub.connectionId;
    console.info(`call: joining ${this.room} as ${hub.connectionId}`);
    try {
      await hub.invoke('JoinRoom', this.room, auth.displayName || NAME_FALLBACK);
      if (hub !== this.hub) return;
      this.inRoom = true;
    } catch (err) {
      if (hub !== this.hub || !hub.connected) return; // the next connect tries again
      const { code, message } = hubError(err);
      toast(code === 'LIMIT_EXCEEDED'
        ? `Cannot join the call: ${message || 'it is full'}.`
        : `Could not join the call: ${describeError(code, message)}`, { kind: 'error' });
      this.leave();
      return;
    }
    this.render();
  }

  leave() {
    if (!this.joined) return;
    this.joined = false;
    this.inRoom = false;
    const hub = this.hub;
    this.hub = null;
    this.roomConnectionId = null;
    for (const undo of this.hubOff) undo();
    this.hubOff = [];
    this.closePeers();
    for (const track of Object.values(this.media)) track?.stop();
    this.media = { audio: null, video: null };
    this.setHint('');
    this.render();
    this.onChange(false);
    // Closing the connection leaves the room: the others get UserLeft.
    hub?.stop().catch(() => {});
  }

  // -------------------------------------------------------------------------
  // Peers.

  ensurePeer(id, name, { initiator }) {
    const known = this.peers.get(id);
    if (known || typeof id !== 'string' || !this.hub) return known;
    const hub = this.hub;
    const peer = new Peer({
      id,
      name: name || 'Someone',
      // The same rule on both sides: the larger connection id yields.
      polite: String(hub.connectionId) > id,
      initiator,
      signal: (method, payload) => hub.send(method, payload, id),
      local: () => ({ ...this.media, micOn: this.micOn }),
      onChange: (p) => this.renderPeer(p),
      onText: (p, text) => this.received(p, text),
    });
    this.peers.set(id, peer);
    this.renderPeer(peer);
    this.render();
    return peer;
  }

  dropPeer(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    peer.close();
    this.peers.delete(id);
    this.tiles.get(id)?.li.remove();
    this.tiles.delete(id);
    this.render();
  }

  closePeers() {
    for (const id of [...this.peers.keys()]) this.dropPeer(id);
  }

  received(peer, text) {
    this.messages.push({ from: peer.id, name: peer.name, text });
    if (this.messages.length > MAX_MESSAGES) this.messages.shift();
  }

  /** Sends a text over every open data channel; returns how many took it. */
  sendText(text) {
    const clipped = String(text).slice(0, MAX_TEXT);
    let sent = 0;
    for (const peer of this.peers.values()) {
      if (peer.sendJson({ type: 'text', text: clipped })) sent += 1;
    }
    return sent;
  }

  // -------------------------------------------------------------------------
  // Camera and microphone.

  /** Asks for what is missing of `kinds`; one request at a time. */
  acquire(kinds) {
    this.acquiring = this.acquiring.then(() => this.getMedia(kinds));
    return this.acquiring;
  }

  async getMedia({ audio = false, video = false }) {
    if (!this.joined) return;
    const want = { audio: audio && !this.media.audio, video: video && !this.media.video };
    if (!want.audio && !want.video) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.setHint('Camera and microphone need a secure page (HTTPS or localhost): '
        + 'you can still see and hear the others.');
      return;
    }
    const ask = (w) => navigator.mediaDevices.getUserMedia({
      audio: w.audio, video: w.video ? VIDEO : false,
    });
    let stream = null;
    let problem = null;
    try {
      stream = await ask(want);
    } catch (err) {
      problem = err;
    }
    // A missing camera (or microphone) fails the pair: one alone may do.
    if (!stream && want.audio && want.video && problem?.name !== 'NotAllowedError') {
      for (const alone of [{ audio: true, video: false }, { audio: false, video: true }]) {
        try {
          stream = await ask(alone);
          break;
        } catch {
          // The first reason is the one to show.
        }
      }
    }
    if (!stream) {
      this.setHint(mediaProblem(problem));
      this.render();
      return;
    }
    if (!this.joined) { // left while the prompt was open
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    if (want.video && stream.getVideoTracks().length === 0) {
      this.setHint('No camera: the others hear you.');
    } else if (want.audio && stream.getAudioTracks().length === 0) {
      this.setHint('No microphone: the others see you.');
    } else {
      this.setHint('');
    }
    for (const track of stream.getTracks()) {
      this.media[track.kind]?.stop();
      this.media[track.kind] = track;
      if (track.kind === 'audio') track.enabled = this.micOn;
      // Unplugged, or revoked in the browser's settings.
      track.onended = () => {
        if (this.media[track.kind] !== track) return;
        this.media[track.kind] = null;
        this.mediaChanged();
      };
    }
    this.mediaChanged();
  }

  toggleMic() {
    if (!this.joined) return;
    if (!this.media.audio) {
      this.micOn = true;
      this.acquire({ audio: true });
      return;
    }
    this.micOn = !this.micOn;
    this.media.audio.enabled = this.micOn;
    this.mediaChanged();
  }

  toggleCamera() {
    if (!this.joined) return;
    if (!this.media.video) {
      this.acquire({ video: true });
      return;
    }
    // Off means off: the camera stops (and its light with it).
    this.media.video.stop();
    this.media.video = null;
    this.mediaChanged();
  }

  mediaChanged() {
    for (const peer of this.peers.values()) peer.update();
    this.render();
  }

  // -------------------------------------------------------------------------
  // The panel.

  setHint(text) {
    this.el.hint.textContent = text;
    this.el.hint.hidden = !text;
  }

  makeTile({ testid, id, self = false }) {
    const video = el('video', { autoplay: true, playsinline: true, muted: self });
    video.muted = self; // the attribute alone is not the property
    const name = el('span', { className: 'call-name' });
    const status = el('span', { className: 'call-peer-status' });
    const li = el('li', {
      className: `call-tile${self ? ' self' : ''}`,
      testid,
      'data-connection-id': id,
    }, [
      video,
      el('span', { className: 'call-avatar', 'aria-hidden': 'true' }),
      el('span', { className: 'call-label' }, [
        el('span', {
          className: 'call-muted',
          title: 'Microphone off',
          'aria-label': 'microphone off',
          role: 'img',
        }),
        name,
        status,
      ]),
    ]);
    return { li, video, name, status, tracks: 0 };
  }

  renderPeer(peer) {
    if (this.peers.get(peer.id) !== peer) return; // already dropped
    let tile = this.tiles.get(peer.id);
    if (!tile) {
      tile = this.makeTile({ testid: 'call-participant', id: peer.id });
      this.tiles.set(peer.id, tile);
      this.el.tiles.append(tile.li);
    }
    const tracks = peer.stream.getTracks().length;
    if (tile.tracks !== tracks) {
      // Set again when a track arrives: some browsers do not pick it up.
      tile.tracks = tracks;
      tile.video.srcObject = peer.stream;
      this.play(tile.video);
    }
    const state = peer.state;
    tile.li.dataset.state = state;
    tile.li.dataset.channel = peer.channelState;
    tile.li.classList.toggle('has-video', peer.showsVideo);
    tile.li.classList.toggle('mic-off', state === 'connected' && !peer.hasAudio);
    tile.li.querySelector('.call-avatar').textContent = initial(peer.name);
    tile.name.textContent = peer.name;
    tile.status.textContent = PEER_STATE_TEXT[state] ?? state;
    tile.li.title = peer.name;
  }

  play(video) {
    video.play().catch((err) => {
      if (err?.name === 'NotAllowedError') this.playbackBlocked = true;
    });
  }

  resumePlayback() {
    if (!this.playbackBlocked) return;
    this.playbackBlocked = false;
    for (const tile of this.tiles.values()) this.play(tile.video);
  }

  renderSelf() {
    const tile = this.selfTile;
    const video = this.media.video;
    const current = tile.video.srcObject?.getVideoTracks()[0] ?? null;
    if (current !== video) {
      tile.video.srcObject = video ? new MediaStream([video]) : null;
      if (video) tile.video.play().catch(() => {});
    }
    tile.li.classList.toggle('has-video', Boolean(video));
    tile.li.classList.toggle('mic-off', !(this.media.audio && this.micOn));
    tile.li.querySelector('.call-avatar').textContent = initial(auth.displayName);
    tile.name.textContent = `${auth.displayName || NAME_FALLBACK} (you)`;
    tile.status.textContent = '';
  }

  render() {
    const { joined } = this;
    this.root.classList.toggle('active', joined);
    this.el.join.hidden = joined;
    this.el.controls.hidden = !joined;
    this.el.tiles.hidden = !joined;
    if (joined) {
      if (!this.selfTile.li.isConnected) this.el.tiles.prepend(this.selfTile.li);
      this.renderSelf();
    } else {
      this.selfTile.video.srcObject = null;
      this.selfTile.li.remove();
    }
    const micOn = Boolean(this.media.audio && this.micOn);
    this.el.mic.setAttribute('aria-pressed', String(micOn));
    this.el.mic.title = !this.media.audio ? 'Turn the microphone on'
      : micOn ? 'Mute the microphone' : 'Unmute the microphone';
    this.el.mic.setAttribute('aria-label', this.el.mic.title);
    const cameraOn = Boolean(this.media.video);
    this.el.camera.setAttribute('aria-pressed', String(cameraOn));
    this.el.camera.title = cameraOn ? 'Turn the camera off' : 'Turn the camera on';
    this.el.camera.setAttribute('aria-label', this.el.camera.title);

    const status = this.hub?.status ?? 'disconnected';
    const away = this.roomConnectionId ? 'Reconnecting…' : 'Connecting…';
    let text = '';
    if (!joined) text = '';
    else if (status !== 'connected') text = away;
    else if (!this.inRoom) text = 'Joining…';
    else if (this.peers.size === 0) text = 'Waiting for others';
    else text = `${this.peers.size + 1} in the call`;
    this.el.status.textContent = text;
    this.el.status.dataset.state = joined ? status : 'idle';
  }

  // -------------------------------------------------------------------------
  // Test hooks (tests/integration/video.test.mjs).

  installTestHooks() {
    const call = this;
    this.testHooks = {
      /** In the room on the current connection. */
      joined: () => call.joined && call.inRoom,
      /** The connection id the room knows this page by (null outside it). */
      connectionId: () => (call.joined && call.inRoom ? call.roomConnectionId : null),
      /** The other members: id, name, connectionState, data channel state, media. */
      members: () => [...call.peers.values()].map((p) => ({
        connectionId: p.id,
        name: p.name,
        state: p.state,
        channel: p.channelState,
        video: p.showsVideo,
        audio: p.hasAudio,
        /** RTP of each kind arrived lately: media really flows. */
        receiving: { audio: p.receiving('audio'), video: p.receiving('video') },
      })),
      localMedia: () => ({
        audio: Boolean(call.media.audio), video: Boolean(call.media.video), micOn: call.micOn,
      }),
      /** Texts received over the data channels: {from, name, text}. */
      channelMessages: () => call.messages.map((m) => ({ ...m })),
      sendOnChannel: (text) => call.sendText(text),
    };
    window.puzzleCall = this.testHooks;
  }
}
