/* Small behaviours around htmx: connection state, new-assignment chime, scrolling, canned responses
   (the search box and the `/` picker in the reply box), Ctrl/Cmd+Enter to send. */
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

  document.addEventListener("htmx:wsOpen", function (event) {
    setConnection("Live", true);
    document.body.setAttribute("data-ws", "open");
    // Whatever arrived while this tab was not connected (or between the page's render and the
    // socket opening): the server re-renders the open conversation's transcript and the lists.
    socket = event.detail.socketWrapper || null;
    if (socket) socket.send(JSON.stringify({ watch: shownConversation(), resume: true }));
  });

  // --- The main pane swaps with htmx (no page load): the socket follows what is on screen ------

  var socket = null;

  function shownConversation() {
    var shown = document.querySelector(".conversation[data-conversation]");
    return shown ? shown.getAttribute("data-conversation") : null;
  }

  function followMainPane() {
    if (socket) socket.send(JSON.stringify({ watch: shownConversation(), resume: true }));
    scrollTranscript();
    var heading = document.querySelector("#main h1");
    if (heading) document.title = heading.textContent.trim() + " · Inbox · Handoff";
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "main") followMainPane();
  });
  document.addEventListener("htmx:historyRestore", followMainPane);
  document.addEventListener("htmx:wsClose", function () {
    setConnection("Reconnecting…", false);
    document.body.setAttribute("data-ws", "closed");
  });
  // A push that re-renders a part of the page (the header, the sidebar) must not take the focus
  // from a keyboard user, nor undo what the agent was doing there (a snooze choice, a transfer target
  // and note, a tag being typed, the open Transfer panel): the element with the same id gets the focus
  // back, and every field the agent changed, found again by id (or its form's action and its name),
  // gets its value back if the new part still has it. A form being sent is left out: it is done.
  var refocus = null;
  var kept = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    if (form) form.setAttribute("data-sending", "1");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    if (form) form.removeAttribute("data-sending");
  });
  function fieldKey(field) {
    if (field.id) return "#" + field.id;
    return field.form && field.name ? field.form.getAttribute("action") + " " + field.name : null;
  }
  function edited(field) {
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) { return option.selected !== option.defaultSelected; });
    }
    return field.type !== "hidden" && field.type !== "submit" && field.value !== field.defaultValue;
  }
  function editsIn(root) {
    var edits = {};
    root.querySelectorAll("input, select, textarea").forEach(function (field) {
      var key = fieldKey(field);
      if (key && !(field.form && field.form.hasAttribute("data-sending")) && edited(field)) edits[key] = field.value;
    });
    var open = [];
    root.querySelectorAll("details[open]").forEach(function (details) { open.push(details.className); });
    return { edits: edits, open: open };
  }
  function editsRestore(root, state) {
    root.querySelectorAll("input, select, textarea").forEach(function (field) {
      var key = fieldKey(field);
      if (!key || !(key in state.edits)) return;
      var value = state.edits[key];
      if (field.tagName !== "SELECT" || Array.prototype.some.call(field.options, function (option) { return option.value === value; })) {
        field.value = value;
      }
    });
    root.querySelectorAll("details").forEach(function (details) {
      if (state.open.indexOf(details.className) !== -1) details.open = true;
    });
  }
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    refocus = active && active.id && target && target.contains(active) ? active.id : null;
    kept = target && target.id ? { id: target.id, state: editsIn(target) } : null;
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (kept) {
      var swapped = document.getElementById(kept.id);
      if (swapped) editsRestore(swapped, kept.state);
      kept = null;
    }
    if (!refocus) return;
    var again = document.getElementById(refocus);
    refocus = null;
    if (again && document.activeElement !== again) again.focus();
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "transcript") scrollTranscript();
    // The sidebar swapped whole, a conversation's row added to the queue, or one more beyond the
    // rows shown (inbox/context.py).
    if (target.id === "sidebar" || target.id === "queue-list" || target.id === "queue-more") {
      if (target.id === "queue-list") keepFirstRows(target);
      updateTitle();
      // The lists changed somewhere: an open list (main pane) reloads itself (hx-trigger="inbox-changed").
      htmx.trigger(document.body, "inbox-changed");
    }
    if (target.id === "cue" && target.getAttribute("data-chime")) chime();
    if (target.id === "conversation-header") followOpenState(target);
  });
  // A row added for a conversation the list already shows (its push raced a whole re-render that
  // included it) is dropped: each conversation once, in its first place.
  function keepFirstRows(list) {
    var seen = {};
    list.querySelectorAll(".item[data-conversation]").forEach(function (row) {
      var id = row.getAttribute("data-conversation");
      if (seen[id]) row.remove();
      seen[id] = true;
    });
  }
  // The composer follows the conversation's state live (resolved elsewhere, handed back, reopened):
  // the header swapped in says whether a person can reply (its status's data-open); the draft is kept.
  function followOpenState(header) {
    var controls = document.getElementById("reply-controls");
    var state = header.querySelector("#conversation-status");
    if (controls && state) controls.disabled = state.getAttribute("data-open") !== "1";
  }
  // --- Sending a reply: once, however often it is retried --------------------------------------
  // Each draft gets an id the server stores with the reply: a send whose answer was lost (a 500,
  // a dropped connection) and is sent again is stored once. The draft stays until a send succeeds.

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 14);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "reply-form") return;
    if (!form.getAttribute("data-client-id")) form.setAttribute("data-client-id", newClientId());
    event.detail.parameters.client_id = form.getAttribute("data-client-id");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "reply-form") return;
    if (event.detail.successful) {
      form.removeAttribute("data-client-id");
    } else if (!event.detail.xhr || event.detail.xhr.status >= 500 || event.detail.xhr.status === 0) {
      var flash = document.getElementById("flash");
      if (flash) flash.textContent = "Your reply was not sent (the connection failed). It is still in the box: press Send to try again.";
    }
  });

  // --- Inserting canned responses and passages into the reply, at the cursor -------------------

  function replyBox() {
    return document.getElementById("reply-text");
  }

  function insertAtCursor(textarea, text, from) {
    // Replaces [from, cursor) (the typed "/shortcut", or the selection) with `text`.
    var start = from === undefined ? textarea.selectionStart : from;
    var end = textarea.selectionEnd;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    var caret = start + text.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest(".canned-insert");
    var textarea = replyBox();
    if (!option || !textarea) return;
    if (option.closest("#slash-picker")) {
      slash.choose(option);
      return;
    }
    insertAtCursor(textarea, option.getAttribute("data-text"));
    var results = document.getElementById("canned");
    if (results && results.contains(option)) results.innerHTML = "";
  });

  // A draft from the knowledge base lands in the reply box (replacing it only when empty), to edit.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "draft") return;
    var draft = event.detail.target.querySelector("[data-draft]");
    var textarea = replyBox();
    if (!draft || !textarea) return;
    var text = draft.getAttribute("data-draft");
    if (!textarea.value.trim()) {
      textarea.value = "";
      textarea.focus();
      textarea.setSelectionRange(0, 0);
    }
    insertAtCursor(textarea, textarea.value ? "\n" + text : text);
  });

  // --- The `/` picker: "/ref" typed in the reply box lists matching canned responses ------------

  var slash = {
    token: null, // {start, query} of the "/word" before the cursor while the picker is open
    active: -1,
    asked: 0,

    picker: function () {
      return document.getElementById("slash-picker");
    },
    options: function () {
      var picker = this.picker();
      return picker ? Array.prototype.slice.call(picker.querySelectorAll("[role=option]")) : [];
    },
    isOpen: function () {
      var picker = this.picker();
      return !!picker && !picker.hidden;
    },
    close: function () {
      var picker = this.picker();
      if (picker) {
        picker.hidden = true;
        picker.innerHTML = "";
      }
      var textarea = replyBox();
      if (textarea) textarea.removeAttribute("aria-activedescendant");
      this.token = null;
      this.active = -1;
    },
    tokenBeforeCursor: function (textarea) {
      var before = textarea.value.slice(0, textarea.selectionStart);
      var match = /(^|\s)\/([\w-]*)$/.exec(before);
      if (!match) return null;
      return { start: before.length - match[2].length - 1, query: match[2] };
    },
    update: function (textarea) {
      var token = this.tokenBeforeCursor(textarea);
      if (!token) {
        if (this.isOpen()) this.close();
        return;
      }
      this.token = token;
      var asked = ++this.asked;
      var url = textarea.getAttribute("data-canned-url") + "&q=" + encodeURIComponent(token.query);
      var self = this;
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (asked !== self.asked || !self.token) return; // a newer keystroke asked again
          var picker = self.picker();
          var results = document.getElementById("canned");
          if (results) results.innerHTML = ""; // one list of canned responses at a time
          picker.innerHTML = html;
          picker.hidden = false;
          self.options().forEach(function (option, i) { option.id = "slash-option-" + i; });
          self.select(self.options().length ? 0 : -1);
        });
    },
    select: function (index) {
      var options = this.options();
      this.active = Math.max(-1, Math.min(index, options.length - 1));
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === this.active ? "true" : "false");
      }, this);
      var textarea = replyBox();
      if (this.active >= 0) {
        textarea.setAttribute("aria-activedescendant", options[this.active].id);
        options[this.active].scrollIntoView({ block: "nearest" });
      }
    },
    choose: function (option) {
      var textarea = replyBox();
      var start = this.token ? this.token.start : textarea.selectionStart;
      this.close();
      insertAtCursor(textarea, option.getAttribute("data-text"), start);
    },
    keydown: function (event) {
      if (!this.isOpen()) return false;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        this.select(this.active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        var option = this.options()[this.active];
        if (!option) return false;
        this.choose(option);
      } else if (event.key === "Escape") {
        this.close();
      } else {
        return false;
      }
      event.preventDefault();
      event.stopPropagation();
      return true;
    },
  };

  document.addEventListener("input", function (event) {
    if (event.target.id === "reply-text" && event.isTrusted) slash.update(event.target);
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "reply-text") return;
    if (slash.keydown(event)) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
  document.addEventListener("focusout", function (event) {
    // Leaving the reply box (not for the picker itself) closes the picker.
    if (event.target.id === "reply-text" && !(event.relatedTarget && event.relatedTarget.closest("#slash-picker"))) {
      setTimeout(function () { if (document.activeElement !== replyBox()) slash.close(); }, 150);
    }
  });

  // --- Live timers: "waiting 3 min", amber then red past the SLA, without a reload -------------

  function ago(seconds) {
    if (seconds < 60) return "under a minute";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    return hours + " h " + (minutes % 60) + " min";
  }

  function tickTimers() {
    var body = document.body;
    var warn = parseInt(body.getAttribute("data-sla-warn") || "120", 10);
    var breach = parseInt(body.getAttribute("data-sla-breach") || "300", 10);
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since") || el.getAttribute("datetime"));
      if (isNaN(since)) return;
      var seconds = Math.max(0, Math.round((now - since) / 1000));
      el.textContent = (el.classList.contains("timer") ? "waiting " : "") + ago(seconds);
      el.classList.toggle("sla-warn", seconds >= warn && seconds < breach);
      el.classList.toggle("sla-breach", seconds >= breach);
      el.setAttribute("title", "Waiting since " + new Date(since).toLocaleTimeString());
    });
  }
  setInterval(tickTimers, 15000);
  document.addEventListener("htmx:afterSettle", tickTimers);
  document.addEventListener("htmx:oobAfterSwap", tickTimers);

  // --- Keyboard shortcuts (the ? overlay lists them) ---------------------------------------------

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rowLinks() {
    var rows = document.querySelectorAll("#conversation-list .row-link");
    if (!rows.length) rows = document.querySelectorAll("#sidebar .item a");
    return Array.prototype.slice.call(rows);
  }

  function moveInList(step) {
    var links = rowLinks();
    if (!links.length) return;
    var index = links.indexOf(document.activeElement);
    var next = index < 0 ? (step > 0 ? 0 : links.length - 1) : Math.max(0, Math.min(links.length - 1, index + step));
    links[next].focus();
  }

  function openNext() {
    // The conversation after the open one in the sidebar (Mine, then the queue), else the first.
    var current = document.querySelector(".conversation[data-conversation]");
    var id = current ? current.getAttribute("data-conversation") : null;
    var items = Array.prototype.slice.call(document.querySelectorAll("#mine-list .item a, #queue-list .item a"));
    if (!items.length) return;
    var at = items.findIndex(function (a) { return a.closest("[data-conversation]").getAttribute("data-conversation") === id; });
    var next = items[(at + 1) % items.length];
    if (next && next.closest("[data-conversation]").getAttribute("data-conversation") !== id) next.click();
  }

  function press(id) {
    var el = document.getElementById(id);
    if (el && !el.disabled) el.click();
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest(".shortcuts-open")) toggleHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      // Esc leaves a field (and keeps what was typed), so the single-key shortcuts work again.
      if (event.key === "Escape" && !slash.isOpen()) {
        event.preventDefault();
        event.target.blur();
      }
      return;
    }
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open && event.key !== "?") return; // the dialog handles Esc itself
    var actions = {
      "?": toggleHelp,
      j: function () { moveInList(1); },
      k: function () { moveInList(-1); },
      n: openNext,
      "/": function () { var search = document.getElementById("search-input"); if (search) search.focus(); },
      r: function () { var reply = replyBox(); if (reply && !reply.disabled) reply.focus(); },
      a: function () { press("accept-button"); },
      t: function () { press("take-over"); },
      e: function () { press("resolve-button"); },
      s: function () { var snooze = document.getElementById("snooze-for"); if (snooze) snooze.focus(); },
    };
    var action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  document.addEventListener("DOMContentLoaded", function () {
    tickTimers();
    scrollTranscript();
    updateTitle();
  });
})();
