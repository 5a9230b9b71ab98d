/* Small behaviours around htmx: connection state, new-assignment chime, scrolling, canned inserts. */
(function () {
  "use strict";

  function setConnection(text, ok) {
    var el = document.getElementById("connection");
    if (!el) return;
    el.textContent = text;
    el.className = "connection " + (ok ? "ok" : "down");
  }

  function scrollTranscript() {
    var transcript = document.getElementById("transcript");
    if (transcript) transcript.scrollTop = transcript.scrollHeight;
  }

  function updateTitle() {
    var sidebar = document.getElementById("sidebar");
    var unread = sidebar ? parseInt(sidebar.getAttribute("data-unread") || "0", 10) : 0;
    var base = document.title.replace(/^\(\d+\) /, "");
    document.title = unread > 0 ? "(" + unread + ") " + base : base;
  }

  function chime() {
    // A short two-tone beep with WebAudio: no audio file to ship. Browsers may block it until
    // the agent has interacted with the page; the visual cue is shown either way.
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      [660, 880].forEach(function (freq, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + i * 0.15);
        osc.stop(ctx.currentTime + i * 0.15 + 0.12);
      });
    } catch (e) { /* no audio available */ }
  }

  document.addEventListener("htmx:wsOpen", function () {
    setConnection("Live", true);
    document.body.setAttribute("data-ws", "open");
  });
  document.addEventListener("htmx:wsClose", function () {
    setConnection("Reconnecting…", false);
    document.body.setAttribute("data-ws", "closed");
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "transcript") scrollTranscript();
    if (target.id === "sidebar") updateTitle();
    if (target.id === "cue" && target.getAttribute("data-chime")) chime();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".canned-insert");
    if (!button) return;
    var textarea = document.getElementById("reply-text");
    if (!textarea) return;
    textarea.value = (textarea.value ? textarea.value + "\n" : "") + button.getAttribute("data-text");
    textarea.focus();
  });
  document.addEventListener("DOMContentLoaded", function () {
    scrollTranscript();
    updateTitle();
  });
})();
