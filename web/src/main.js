// Entry point of the browser client: picks the view from the URL.
//
//   /                    the lobby
//   /?session=<uuid>     that puzzle (the shareable link); without a display
//                        name yet, the lobby asks for one first
//   /?session=<uuid>&invite=<code>
//                        a private puzzle's invite link: the code is
//                        redeemed for this user, then dropped from the URL
//
// Views switch with history.pushState, so the back button returns to the
// lobby. One hub connection serves the page; it is started when a puzzle is
// opened and stopped in the lobby, which needs only the REST API.

import { auth, redeemInvite } from './api.js';
import { Hub } from './hub.js';
import { Lobby } from './lobby.js';
import { PuzzleView } from './play.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const hub = new Hub();
let lobby = null;
let puzzle = null;

function sessionInUrl() {
  const id = new URLSearchParams(location.search).get('session');
  return id && UUID_RE.test(id) ? id : null;
}

function inviteInUrl() {
  const code = new URLSearchParams(location.search).get('invite');
  return code && /^[0-9a-f]{1,256}$/i.test(code) ? code : null;
}

function navigate(url) {
  if (`${location.pathname}${location.search}` !== url) history.pushState(null, '', url);
  route();
}

function openSession(id) {
  // Naming oneself in the lobby must not lose the invite of the link.
  const invite = id === sessionInUrl() ? inviteInUrl() : null;
  navigate(`/?session=${encodeURIComponent(id)}` +
    (invite ? `&invite=${encodeURIComponent(invite)}` : ''));
}

function goToLobby() {
  navigate('/');
}

function route() {
  const sessionId = sessionInUrl();
  if (sessionId && auth.hasName) {
    const invite = inviteInUrl();
    if (invite) {
      // Redeem first (the join needs the permission), and keep the code out
      // of the history; a failed redemption shows up as a refused join.
      history.replaceState(null, '', `/?session=${encodeURIComponent(sessionId)}`);
      redeemInvite(sessionId, invite)
        .catch((err) => console.warn('invite not accepted:', err.message))
        .finally(route);
      return;
    }
    if (puzzle?.sessionId === sessionId) return;
    puzzle?.destroy();
    lobby.hide();
    puzzle = new PuzzleView({ sessionId, hub, onLobby: goToLobby });
    puzzle.open();
    return;
  }
  if (puzzle) {
    puzzle.destroy();
    puzzle = null;
    hub.stop().catch(() => {});
  }
  lobby.show({ pendingSession: sessionId });
}

function main() {
  lobby = new Lobby({ openSession });
  window.addEventListener('popstate', route);
  route();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', main);
} else {
  main();
}
