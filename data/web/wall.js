// wall.js - the teacher's wall's script (see wall.html). The wall token
// buys the list (GET api/wall?token=T: vmbatchd spends it and answers each
// running instance of the selection with a one-time console token); each
// tile then opens its console exactly as console.js does (wss://.../ws?token=),
// so the gateway does the VNC authentication for every thumbnail too.
//
// A click shows the tile full size with the same connection: its token is
// spent by the thumbnail, and a second token per instance would be one more
// live secret (and audit entry) for a view that is mostly never opened; the
// live RFB is already there, so the full view needs no new handshake.
import RFB from './novnc/core/rfb.js';

const bar = document.getElementById('bar');
const wall = document.getElementById('wall');

// The state for the teacher, and for tests in body's data-state.
function show(state, text) {
    bar.textContent = text;
    bar.className = state;
    document.body.dataset.state = state;
}

const m = /(?:^#|&)token=([0-9a-f]{32})(?:&|$)/.exec(location.hash);
// the token is used once: it leaves the address bar (and the history) now
history.replaceState(null, '', location.pathname + location.search);
const base = location.pathname.replace(/[^/]*$/, ''); // PREFIX/, relative to the page
window.vmbatchWall = { tiles: [] }; // for the browser test

function closeFull() {
    for (const t of window.vmbatchWall.tiles)
        if (t.el.classList.contains('full')) {
            t.el.classList.remove('full');
            t.rfb.viewOnly = true;
            t.rfb.scaleViewport = true; // rescale to the thumbnail now
        }
}

function tile(inst) {
    const el = document.createElement('div');
    el.className = 'tile';
    el.dataset.state = 'connecting';
    el.dataset.user = inst.user;
    el.dataset.instance = inst.instance;
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = inst.user + ' - ' + inst.vm + ' (instance ' + inst.instance + ')';
    const close = document.createElement('button');
    close.textContent = 'back to the wall';
    close.addEventListener('click', (e) => { e.stopPropagation(); closeFull(); });
    name.appendChild(close);
    const screen = document.createElement('div');
    screen.className = 'screen';
    el.append(name, screen);
    wall.appendChild(el);

    const rfb = new RFB(screen, 'wss://' + location.host + base + 'ws?token=' + inst.token, { wsProtocols: ['binary'] });
    rfb.viewOnly = true; // a thumbnail watches; full size takes keys too
    rfb.scaleViewport = true;
    rfb.addEventListener('connect', () => { el.dataset.state = 'connected'; });
    rfb.addEventListener('securityfailure', (e) => { el.title = e.detail.reason || 'the console was refused'; });
    rfb.addEventListener('disconnect', () => { el.dataset.state = 'disconnected'; });
    // on the press, in the capture phase: noVNC's canvas takes the mouse's
    // events itself (and a press it sees would reach the student's VM)
    el.addEventListener('mousedown', (e) => {
        if (el.classList.contains('full'))
            return;
        e.stopPropagation();
        closeFull();
        el.classList.add('full');
        rfb.scaleViewport = true; // rescale to the full window now
        rfb.focus();
        // keys and the mouse once this press is over, not its release
        window.addEventListener('mouseup', () => setTimeout(() => {
            if (el.classList.contains('full'))
                rfb.viewOnly = false;
        }, 0), { once: true, capture: true });
    }, true);
    window.vmbatchWall.tiles.push({ instance: inst.instance, user: inst.user, vm: inst.vm, rfb: rfb, el: el });
}

// in the capture phase: a full-size console's noVNC takes (and stops) the keys
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeFull(); }, true);

if (!m) {
    show('refused', 'no wall token in the address (run "vmbatch console --wall" for a new one)');
} else {
    fetch(base + 'api/wall?token=' + m[1], { cache: 'no-store', credentials: 'omit' })
        .then(async (r) => {
            const j = await r.json().catch(() => ({}));
            if (!r.ok)
                throw new Error(j.error || ('the gateway said ' + r.status));
            return j;
        })
        .then((j) => {
            for (const inst of j.instances)
                tile(inst);
            document.title = 'Wall of ' + j.wall;
            show('ready', 'the wall of ' + j.wall + ' for ' + j.issued_to + ': ' + j.instances.length +
                 ' running instance' + (j.instances.length === 1 ? '' : 's') + ' (click one for full size)');
        })
        .catch((e) => show('refused', 'refused: ' + e.message));
}
