// One other member of the call, as this page sees them: an RTCPeerConnection
// negotiated through the node's /webrtchub (docs/webrtc.md), carrying their
// audio and video (when they send any) and a data channel.
//
// Negotiation follows the "perfect negotiation" pattern, so either side may
// renegotiate (a camera turned on later, an ICE restart) and a collision of
// two offers resolves the same way on both sides:
//
// - The initiator (the member who was in the room first and got UserJoined)
//   makes the first offer: one audio and one video transceiver, `sendrecv`
//   for what it has and `recvonly` for what it lacks, and the data channel.
//   The other side adds nothing before it has that offer, so the first
//   negotiation never collides.
// - Local tracks go onto the existing senders with replaceTrack; a kind sent
//   for the first time turns its transceiver to `sendrecv`, which asks for a
//   renegotiation (negotiationneeded). Without camera or microphone the call
//   still works: receive-only transceivers and the data channel.
// - On a collision the impolite side (the smaller connection id) ignores the
//   other's offer; the polite one rolls its own back and answers.
// - Signals from the peer are handled one at a time, in the order the hub
//   relayed them (it keeps the order per pair). ICE candidates may come
//   before the description they belong to: they wait in `early` until there
//   is a remote description.
//
// The data channel carries small JSON messages: `{type: 'media', audio,
// video}` (what this side sends, so that a camera turned off shows the name
// rather than a frozen frame) and `{type: 'text', text}`.

// The node only signals (no STUN or TURN): peers on one network connect with
// host candidates. Across NATs this list needs STUN and TURN servers.
const ICE_SERVERS = [];
const CHANNEL_LABEL = 'puzzle-call';
const MAX_EARLY_CANDIDATES = 200; // per peer, before the remote description
const MAX_CHANNEL_MESSAGE = 16 * 1024; // characters; larger ones are dropped
export const MAX_TEXT = 2_000; // characters of one text message

export class Peer {
  /**
   * @param {object} o
   * @param {string} o.id their hub connection id
   * @param {string} o.name their display name
   * @param {boolean} o.polite yields when both sides offer at once
   * @param {boolean} o.initiator makes the first offer
   * @param {(method: string, payload: string) => void} o.signal relays to them
   * @param {() => {audio: ?MediaStreamTrack, video: ?MediaStreamTrack, micOn: boolean}} o.local
   * @param {(peer: Peer) => void} o.onChange something to show has changed
   * @param {(peer: Peer, text: string) => void} o.onText a text message came
   */
  constructor({ id, name, polite, initiator, signal, local, onChange, onText }) {
    this.id = id;
    this.name = name;
    this.polite = polite;
    this.signal = signal;
    this.local = local;
    this.onChange = onChange;
    this.onText = onText;
    this.stream = new MediaStream(); // their tracks, as they arrive
    this.remoteMedia = { audio: false, video: false }; // what they say they send
    this.closed = false;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.early = [];
    this.inbox = Promise.resolve(); // signals and local changes, one at a time
    this.channel = null;

    const pc = new RTCPeerConnection({ iceServers: ICE_SERVERS });
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signal('SendIceCandidate', JSON.stringify(candidate));
    };
    pc.onnegotiationneeded = () => this.offer();
    pc.ontrack = ({ track }) => this.addTrack(track);
    pc.ondatachannel = ({ channel }) => this.useChannel(channel);
    pc.onconnectionstatechange = () => {
      console.info(`call: ${this.id} ${pc.connectionState}`);
      // A path that broke for good (a network change) may come back with
      // fresh candidates; both sides may try, the negotiation sorts it out.
      if (pc.connectionState === 'failed' && !this.closed) pc.restartIce();
      this.onChange(this);
    };
    if (initiator) {
      this.useChannel(pc.createDataChannel(CHANNEL_LABEL));
      const media = local();
      for (const kind of ['audio', 'video']) {
        const track = media[kind];
        pc.addTransceiver(track ?? kind, { direction: track ? 'sendrecv' : 'recvonly' });
      }
    }
  }

  /** The RTCPeerConnection's connectionState ('new' ... 'connected', 'closed'). */
  get state() {
    return this.pc.connectionState;
  }

  get channelState() {
    return this.channel?.readyState ?? 'none';
  }

  /** Their video is live and they say the camera is on. */
  get showsVideo() {
    const track = this.stream.getVideoTracks()[0];
    return Boolean(track && !track.muted && track.readyState === 'live' && this.remoteMedia.video);
  }

  /** Their microphone is on (and its track arrived). */
  get hasAudio() {
    const track = this.stream.getAudioTracks()[0];
    return Boolean(track && track.readyState === 'live' && this.remoteMedia.audio);
  }

  /** RTP of this kind arrived from them in the last 10 s (synchronous). */
  receiving(kind) {
    if (this.closed) return false;
    return this.pc.getReceivers().some((r) => r.track.kind === kind
      && r.getSynchronizationSources().length > 0);
  }

  // -------------------------------------------------------------------------
  // Negotiation.

  async offer() {
    if (this.closed || this.pc.signalingState !== 'stable') return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.signal('SendOffer', JSON.stringify(this.pc.localDescription));
    } catch (err) {
      console.warn(`call: offer to ${this.id} failed`, err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A relay from them: ReceiveOffer, ReceiveAnswer or ReceiveIceCandidate. */
  receive(method, payload) {
    let data;
    try {
      data = JSON.parse(payload);
    } catch {
      console.warn(`call: ${method} from ${this.id} is not JSON`);
      return;
    }
    const work = method === 'ReceiveIceCandidate'
      ? () => this.addCandidate(data)
      : () => this.describe(data);
    this.enqueue(work, method);
  }

  enqueue(work, what) {
    this.inbox = this.inbox.then(work).catch((err) => {
      if (!this.closed) console.warn(`call: ${what} with ${this.id} failed`, err);
    });
  }

  async describe(description) {
    if (this.closed || !description || typeof description.type !== 'string') return;
    const pc = this.pc;
    const collision = description.type === 'offer'
      && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await pc.setRemoteDescription(description); // rolls our offer back on a collision
    const early = this.early;
    this.early = [];
    for (const candidate of early) await this.addCandidate(candidate);
    if (description.type === 'offer') {
      await this.attachLocal(); // the transceivers the offer made
      await pc.setLocalDescription();
      this.signal('SendAnswer', JSON.stringify(pc.localDescription));
    }
  }

  async addCandidate(candidate) {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      if (this.early.length < MAX_EARLY_CANDIDATES) this.early.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we ignored (or rolled back) do not fit.
      if (!this.ignoreOffer) {
        console.info(`call: candidate from ${this.id} refused: ${err.message}`);
      }
    }
  }

  /**
   * Puts the local tracks on the senders (null when there is none) and turns
   * a transceiver that starts sending to `sendrecv`. Never back to
   * `recvonly`: a camera turned off sends nothing, without a renegotiation.
   */
  async attachLocal() {
    const media = this.local();
    for (const t of this.pc.getTransceivers()) {
      if (t.stopped || t.currentDirection === 'stopped') continue;
      const kind = t.receiver.track.kind;
      const track = media[kind] ?? null;
      if (t.sender.track !== track) await t.sender.replaceTrack(track);
      if (track && (t.direction === 'recvonly' || t.direction === 'inactive')) {
        t.direction = 'sendrecv';
      }
    }
  }

  /** The local media changed: new senders, and tell them. */
  update() {
    this.enqueue(() => this.attachLocal(), 'local media');
    this.sendState();
  }

  // -------------------------------------------------------------------------
  // Media and the data channel.

  addTrack(track) {
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    track.onmute = () => this.onChange(this);
    track.onunmute = () => this.onChange(this);
    track.onended = () => this.onChange(this);
    this.onChange(this);
  }

  useChannel(channel) {
    this.channel = channel;
    channel.onopen = () => {
      this.sendState();
      this.onChange(this);
    };
    channel.onclose = () => this.onChange(this);
    channel.onmessage = ({ data }) => this.onChannelData(data);
  }

  onChannelData(data) {
    if (typeof data !== 'string' || data.length > MAX_CHANNEL_MESSAGE) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message?.type === 'media') {
      this.remoteMedia = { audio: message.audio === true, video: message.video === true };
      this.onChange(this);
    } else if (message?.type === 'text' && typeof message.text === 'string') {
      this.onText(this, message.text.slice(0, MAX_TEXT));
    }
  }

  /** Sends a JSON message when the channel is open; returns whether it went. */
  sendJson(message) {
    if (this.channel?.readyState !== 'open') return false;
    this.channel.send(JSON.stringify(message));
    return true;
  }

  sendState() {
    const media = this.local();
    this.sendJson({
      type: 'media',
      audio: Boolean(media.audio && media.micOn),
      video: Boolean(media.video),
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.pc.close();
    for (const track of this.stream.getTracks()) track.stop();
  }
}
