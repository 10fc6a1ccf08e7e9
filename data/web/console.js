// console.js - the console page's script (see console.html). Everything is
// addressed relative to the page, so the gateway works behind a reverse
// proxy under any path: PREFIX/novnc/core/rfb.js, wss://HOST/PREFIX/ws.
import RFB from './novnc/core/rfb.js';

const bar = document.getElementById('bar');

// The state for the student, and for tests in body's data-state.
function show(state, text) {
    bar.textContent = state + (text ? ': ' + text : '');
    bar.className = state;
    document.body.dataset.state = state;
}

const m = /(?:^#|&)token=([0-9a-f]{32})(?:&|$)/.exec(location.hash);
// the token is used once: it leaves the address bar (and the history) now
history.replaceState(null, '', location.pathname + location.search);

if (!m) {
    show('disconnected', 'no console token in the address (run "vmbatch console VM" for a new one)');
} else {
    const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
    const url = 'wss://' + location.host + base + 'ws?token=' + m[1];
    let refused = '', name = '';
    const rfb = new RFB(document.getElementById('screen'), url, { wsProtocols: ['binary'] });
    rfb.scaleViewport = true;
    rfb.focusOnClick = true;
    // noVNC tells the desktop's name (ServerInit) before 'connect'
    rfb.addEventListener('connect', () => show('connected', name));
    rfb.addEventListener('desktopname', (e) => {
        name = e.detail.name;
        document.title = name + ' - VM console';
        if (document.body.dataset.state === 'connected')
            show('connected', name);
    });
    // the gateway's reason: token refused or expired, the VM gone, ...
    rfb.addEventListener('securityfailure', (e) => { refused = e.detail.reason || 'the console was refused'; });
    rfb.addEventListener('disconnect', (e) => {
        show('disconnected', refused || (e.detail.clean ? 'the console closed' : 'the connection was lost (the VM may be gone)'));
    });
    window.vmbatchConsole = rfb; // for the browser test
}
