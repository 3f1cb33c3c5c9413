// The devices bound to the session (docs/mqtt.md): a puzzle table, an
// environment sensor, a smart puzzle box. Polled from
// GET /api/sessions/{id}/devices every POLL_MS while the puzzle view is
// open; the panel is hidden while no device is bound.

import { listDevices } from './api.js';
import { el } from './ui.js';

const POLL_MS = 2_000;

/** A number for display, or null when it is none. */
function num(value, digits = 0) {
  const n = Number(value);
  if (value === null || value === undefined || value === '' || !Number.isFinite(n)) return null;
  return n.toFixed(digits);
}

/** Total weight of a pressure reading (given, else the sum of the zones). */
function totalWeight(pressure) {
  if (!pressure || typeof pressure !== 'object') return null;
  if (num(pressure.totalWeight) !== null) return Number(pressure.totalWeight);
  const zones = Array.isArray(pressure.zones) ? pressure.zones : [];
  if (!zones.length) return null;
  return zones.reduce((sum, z) => sum + (Number(typeof z === 'object' ? z?.pressure : z) || 0), 0);
}

/** The compact reading texts of one device: [{kind, text}]. */
export function readingsOf(device) {
  const out = [];
  const pressure = device.readings?.pressure?.data;
  if (pressure) {
    const total = totalWeight(pressure.pressure);
    // No unit in the contract (docs/mqtt.md): the number as sent.
    const weight = num(total, Number.isInteger(total) ? 0 : 1);
    const points = Array.isArray(pressure.touch?.points) ? pressure.touch.points.length : null;
    const parts = [];
    if (weight !== null) parts.push(`weight ${weight}`);
    if (points !== null) parts.push(`${points} touch${points === 1 ? '' : 'es'}`);
    if (parts.length) out.push({ kind: 'table', text: parts.join(' · ') });
  }
  const env = device.readings?.environment?.data;
  if (env) {
    const parts = [];
    const t = num(env.temperature, 1);
    const h = num(env.humidity, 0);
    const light = num(env.lightLevel, 0);
    const sound = num(env.soundLevel, 0);
    if (t !== null) parts.push(`${t} °C`);
    if (h !== null) parts.push(`${h} %`);
    if (light !== null) parts.push(`light ${light}`);
    if (sound !== null) parts.push(`sound ${sound}`);
    if (parts.length) out.push({ kind: 'environment', text: parts.join(' · ') });
  }
  const placements = device.placements;
  // A puzzle box places pieces; a device with no sensor readings may be one.
  if (placements && (placements.applied || placements.refused || !out.length)) {
    out.push({
      kind: 'placements',
      text: `${Number(placements.applied) || 0} placed · ${Number(placements.refused) || 0} refused`,
    });
  }
  return out;
}

export class Devices {
  constructor(root, { sessionId }) {
    this.root = root;
    this.list = root.querySelector('[data-role=device-list]');
    this.count = root.querySelector('[data-role=device-count]');
    this.sessionId = sessionId;
    this.timer = 0;
    this.controller = null;
    this.stopped = false;
    this.root.hidden = true;
  }

  /** Polls now and every POLL_MS until stop(). */
  start() {
    this.stop();
    this.stopped = false;
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
    this.controller = null;
    this.list.replaceChildren();
    this.root.hidden = true;
  }

  async poll() {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    try {
      const devices = await listDevices(this.sessionId, controller.signal);
      if (this.controller === controller) this.render(devices);
    } catch (err) {
      // A node without the endpoint answers 404 or so: no devices to show.
      // Transient failures keep what is shown until the next poll.
      if (this.controller === controller && err?.status >= 400 && err.status < 500) {
        this.render([]);
      } else if (err?.status === undefined) {
        console.warn('devices poll failed', err);
      }
    } finally {
      // After stop() (and a later start()) this poll is not the current one.
      if (this.controller === controller) {
        this.controller = null;
        if (!this.stopped) this.timer = setTimeout(() => this.poll(), POLL_MS);
      }
    }
  }

  render(devices) {
    if (this.stopped) return;
    const sorted = [...devices].filter((d) => d?.deviceId)
      .sort((a, b) => String(a.deviceId).localeCompare(String(b.deviceId)));
    this.root.hidden = sorted.length === 0;
    this.count.textContent = String(sorted.filter((d) => d.presence === 'online').length);
    this.list.replaceChildren(...sorted.map((d) => {
      const online = d.presence === 'online';
      const presence = d.presence === 'unknown' ? 'unknown' : (online ? 'online' : 'offline');
      const rate = num(d.messageRate, 1);
      return el('li', {
        className: `device${online ? ' online' : ''}`,
        testid: 'device',
        'data-device-id': d.deviceId,
        'data-online': String(online),
        'data-presence': presence,
      }, [
        el('div', { className: 'device-head' }, [
          el('span', {
            className: 'dot', title: presence, 'aria-label': presence, role: 'img',
          }),
          el('span', { className: 'device-id', text: d.deviceId }),
          rate !== null ? el('span', { className: 'device-rate', text: `${rate} msg/s` }) : null,
        ]),
        ...readingsOf(d).map((r) => el('div', {
          className: 'device-reading',
          testid: 'device-reading',
          'data-kind': r.kind,
          text: r.text,
        })),
      ]);
    }));
  }
}
