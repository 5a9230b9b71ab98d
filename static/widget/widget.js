/*! Handoff chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" async data-color="#2f6f4f" data-position="right"
 *           data-title="Support" data-greeting="Hi! How can we help?"></script>
 * Plain JavaScript, no build step. The wire protocol is in docs/widget-protocol.md.
 * Chat text only ever reaches the page through textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src$="/widget.js"]');
  if (!script || window.HandoffWidget) return; // embedded twice: keep the first

  var server = new URL(script.src, location.href);
  var WS_URL = (server.protocol === "https:" ? "wss://" : "ws://") + server.host + "/ws/widget/";
  var data = script.dataset;
  var cfg = {
    color: data.color && window.CSS && CSS.supports("color", data.color) ? data.color : "#2f6f4f",
    position: data.position === "left" ? "left" : "right",
    title: data.title || "Chat with us",
    greeting: data.greeting || "Hi! Ask us anything.",
  };
  var BOT_NAME = data.botName || "Assistant";
  // A signed-in visitor, vouched for by the host site's server (data-user-hash; docs/widget-protocol.md).
  var IDENTITY = data.userId && data.userHash
    ? { user_id: data.userId, email: data.userEmail || "", user_hash: data.userHash } : null;
  var STORE_KEY = "handoff-widget:" + server.origin;
  var PING_EVERY = 20000;
  var DEAD_AFTER = 45000; // no frame for this long: the socket is half-open, replace it

  // --- Persistent state (localStorage may be blocked: then it lives for the page only) ---------
  var state = load();
  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
      if (saved && typeof saved === "object") return fill(saved);
    } catch (e) {}
    return fill({});
  }
  function fill(s) {
    return {
      token: s.token || null,
      conversation: s.conversation || null,
      lastSeen: s.lastSeen || 0,
      outbox: Array.isArray(s.outbox) ? s.outbox : [],
      open: !!s.open,
      email: s.email || "", // given once: not asked again
      rated: s.rated || "", // which resolution was rated: conversation + handoff

    };
  }
  function save() {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) {}
  }

  // --- DOM: a shadow root, so the host page's CSS stays out and ours stays in ------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }
  var host = el("div", { id: "handoff-widget" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link", { rel: "stylesheet", href: server.origin + "/widget.css" });
  var box = el("div", { class: "hw hw--" + cfg.position, style: "display:none" });
  box.style.setProperty("--hw-accent", cfg.color);
  css.onload = css.onerror = function () { box.style.display = ""; };

  var launcher = el("button", { type: "button", class: "hw-launcher", "aria-expanded": "false", "aria-controls": "hw-panel", "aria-label": "Open chat: " + cfg.title });
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("class", "hw-launcher-icon");
  var bubble = document.createElementNS(SVG, "path");
  bubble.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  icon.appendChild(bubble);
  launcher.appendChild(icon);
  var badge = el("span", { class: "hw-badge", hidden: "" });
  launcher.appendChild(badge);

  var panel = el("section", { id: "hw-panel", class: "hw-panel", role: "dialog", "aria-labelledby": "hw-title", hidden: "" });
  var header = el("header", { class: "hw-header" });
  var heading = el("div", { class: "hw-heading" });
  heading.appendChild(el("h2", { id: "hw-title", class: "hw-title" }, cfg.title));
  var statusLine = el("p", { class: "hw-status", role: "status" });
  heading.appendChild(statusLine);
  var closeButton = el("button", { type: "button", class: "hw-close", "aria-label": "Close chat" }, "×");
  // Ends the conversation (the visitor is asked to rate it); closing the panel only hides it.
  var endButton = el("button", { type: "button", class: "hw-end", hidden: "" }, "End chat");
  header.appendChild(heading);
  header.appendChild(endButton);
  header.appendChild(closeButton);

  var log = el("div", { class: "hw-log", role: "log", "aria-live": "polite", "aria-label": "Messages", tabindex: "0" });
  var greeting = message({ sender: "bot", text: cfg.greeting, sources: [] });
  greeting.setAttribute("data-seq", "0");
  greeting.classList.add("hw-msg--greeting");
  log.appendChild(greeting);

  var typing = el("p", { class: "hw-typing", "aria-live": "polite", hidden: "" });
  var errorLine = el("p", { class: "hw-error", role: "alert", hidden: "" });
  var form = el("form", { class: "hw-form" });
  form.appendChild(el("label", { class: "hw-sr", for: "hw-input" }, "Your message"));
  // No maxlength: the browser would cut a long paste silently. A counter shows near the limit instead.
  var input = el("textarea", { id: "hw-input", class: "hw-input", rows: "1", placeholder: "Type your message…", autocomplete: "off", "aria-describedby": "hw-count" });
  var counter = el("p", { id: "hw-count", class: "hw-count", "aria-live": "polite", hidden: "" });
  var sendButton = el("button", { type: "submit", class: "hw-send" }, "Send");
  form.appendChild(input);
  form.appendChild(sendButton);
  var personButton = el("button", { type: "button", class: "hw-person" }, "Talk to a person");
  // While waiting for a person: chat with the assistant meanwhile, or take the request back.
  var waitingBar = el("div", { class: "hw-waiting", hidden: "" });
  var keepChatting = el("button", { type: "button", class: "hw-keep" }, "Keep chatting with the assistant while you wait");
  var cancelRequest = el("button", { type: "button", class: "hw-cancel" }, "I no longer need a person");
  waitingBar.appendChild(keepChatting);
  waitingBar.appendChild(cancelRequest);
  // Asks that come with a status: an email address when nobody can answer now, a rating at the end.
  var card = el("div", { class: "hw-card", hidden: "" });

  // The log comes last in the DOM, so from the input Tab reaches the answers' links and thumbs
  // (forwards, not Shift+Tab); CSS `order` draws it above the input as usual.
  panel.appendChild(header);
  panel.appendChild(typing);
  panel.appendChild(errorLine);
  panel.appendChild(card);
  panel.appendChild(waitingBar);
  panel.appendChild(counter);
  panel.appendChild(form);
  panel.appendChild(personButton);
  panel.appendChild(log);
  box.appendChild(panel);
  box.appendChild(launcher);
  root.appendChild(css);
  root.appendChild(box);

  // --- Messages ----------------------------------------------------------------------------------
  var bySeq = {}; // seq -> element: a seq is rendered once, however often it arrives
  var pending = {}; // client_id -> element, until the server acks it
  var drafts = {}; // reply_to -> streaming bot bubble
  var maxSeq = 0;
  var status = null;
  var limits = { max_message_chars: 4000 };
  var emailReplies = false; // the server emails agents' replies to a visitor who left (welcome.email_replies)

  function senderName(m) {
    if (m.sender === "visitor") return "You";
    if (m.sender === "agent") return (m.author && m.author.name) || "Support";
    if (m.sender === "bot") return BOT_NAME;
    return "Update";
  }

  function message(m) {
    var item = el("div", { class: "hw-msg hw-msg--" + m.sender });
    var who = el("span", { class: m.sender === "agent" ? "hw-author" : "hw-sr" }, senderName(m) + (m.sender === "agent" ? "" : ": "));
    item.appendChild(who);
    item.appendChild(el("div", { class: "hw-text" }, m.text));
    if (m.created_at) stamp(item, m.created_at);
    var sources = (m.sources || []).filter(function (s) { return s.title || safeUrl(s.url); });
    if (sources.length) {
      var list = el("ul", { class: "hw-sources", "aria-label": "Sources" });
      sources.forEach(function (s) {
        var li = el("li");
        var href = safeUrl(s.url);
        // An article without a page (e.g. one learned from an agent's answer) is named, not linked.
        li.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, s.title || s.url) : el("span", {}, s.title));
        list.appendChild(li);
      });
      item.appendChild(list);
    }
    // A declined answer, or an answer a trigger rule asked to come with the offer of a person.
    if (m.sender === "bot" && (m.declined || m.offer_person) && !m.while_waiting) {
      var ask = el("button", { type: "button", class: "hw-inline-person" }, "Talk to a person");
      ask.addEventListener("click", requestPerson);
      item.appendChild(ask);
    }
    if (m.sender === "bot" && m.seq && !m.declined) item.appendChild(feedbackButtons(m));
    return item;
  }

  function feedbackButtons(m) {
    var group = el("div", { class: "hw-feedback", role: "group", "aria-label": "Was this answer helpful?" });
    [["up", "Helpful"], ["down", "Not helpful"]].forEach(function (choice) {
      var button = el("button", { type: "button", class: "hw-vote", "data-value": choice[0], "aria-label": choice[1], "aria-pressed": String(m.feedback === choice[0]) });
      button.appendChild(thumb(choice[0] === "down"));
      button.addEventListener("click", function () { send({ type: "feedback", seq: m.seq, value: choice[0] }); });
      group.appendChild(button);
    });
    return group;
  }

  // A drawn thumb: the emoji needs a colour-emoji font many systems lack (an empty box instead).
  function thumb(down) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "hw-thumb" + (down ? " hw-thumb--down" : ""));
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M2 10h4v11H2zM8 21V10l5-8 1.5 1c.6.4.8 1.1.6 1.8L14 9h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21z");
    svg.appendChild(path);
    return svg;
  }

  function showVote(seq, value) {
    var item = bySeq[seq];
    if (!item) return;
    item.querySelectorAll(".hw-vote").forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-value") === value)); });
  }

  function stamp(item, iso) {
    var at = new Date(iso);
    if (isNaN(at)) return;
    var shown = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var sameDay = at.toDateString() === new Date().toDateString();
    item.appendChild(el("time", { class: "hw-time", datetime: iso }, sameDay ? shown : at.toLocaleDateString() + " " + shown));
  }

  function safeUrl(url) {
    if (!url) return null; // "" would resolve to the current page
    try {
      var u = new URL(url, location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }

  // Keep the log in seq order: history and live events can interleave after a reconnect.
  function place(item, seq) {
    var kids = log.children;
    for (var i = kids.length - 1; i >= 0; i--) {
      var s = kids[i].getAttribute("data-seq");
      if (s !== null && +s < seq) { log.insertBefore(item, kids[i].nextSibling); return; }
    }
    log.insertBefore(item, log.firstChild);
  }

  function receiveMessage(m) {
    if (bySeq[m.seq]) return;
    var item = message(m);
    item.setAttribute("data-seq", String(m.seq));
    var mine = m.client_id && pending[m.client_id];
    if (mine) { mine.remove(); delete pending[m.client_id]; dropOutbox(m.client_id); }
    if (m.reply_to != null && drafts[m.reply_to]) { drafts[m.reply_to].remove(); delete drafts[m.reply_to]; }
    if (m.sender !== "visitor") showTyping(null);
    bySeq[m.seq] = item;
    maxSeq = Math.max(maxSeq, m.seq);
    place(item, m.seq);
    if (m.sender !== "visitor") markUnread();
    scrollDown();
    emit("message", m);
  }

  function addPending(entry) {
    var item = message({ sender: "visitor", text: entry.text });
    item.classList.add("hw-msg--pending");
    item.appendChild(el("span", { class: "hw-meta" }, "Sending…"));
    pending[entry.client_id] = item;
    log.appendChild(item);
    scrollDown();
  }

  var retryOutboxTimer = null;
  function failPending(clientId, why, canRetry) {
    var item = pending[clientId];
    if (!item) return;
    var meta = item.querySelector(".hw-meta");
    meta.textContent = "Not sent: " + why + " ";
    item.classList.add("hw-msg--failed");
    if (canRetry) {
      var retry = el("button", { type: "button", class: "hw-retry" }, "Retry");
      retry.addEventListener("click", function () { retry.remove(); meta.textContent = "Sending…"; flushOutbox(); });
      meta.appendChild(retry);
      // Our side failed (e.g. the database restarting): try again by itself soon, not only on a click.
      clearTimeout(retryOutboxTimer);
      retryOutboxTimer = setTimeout(flushOutbox, 3000);
    } else {
      dropOutbox(clientId);
      delete pending[clientId];
    }
  }

  function delta(ev) {
    var draft = drafts[ev.reply_to];
    if (!draft) {
      draft = drafts[ev.reply_to] = message({ sender: "bot", text: "" });
      draft.classList.add("hw-msg--draft");
      draft.setAttribute("aria-hidden", "true"); // the finished message is announced instead
      log.appendChild(draft);
    }
    draft.querySelector(".hw-text").appendChild(document.createTextNode(ev.text));
    scrollDown();
  }

  function clearDrafts() {
    for (var key in drafts) drafts[key].remove();
    drafts = {};
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  var typingTimer = null;
  var typingSender = null;
  function showTyping(ev) {
    clearTimeout(typingTimer);
    typingSender = ev && ev.is_typing ? ev.sender : null;
    if (!ev || !ev.is_typing) {
      typing.hidden = true;
      if (ev && ev.sender === "bot") clearDrafts(); // stopped without an answer (a person took over)
      return;
    }
    typing.textContent = (ev.sender === "agent" ? (ev.author && ev.author.name) || "Support" : BOT_NAME) + " is typing…";
    typing.hidden = false;
    typingTimer = setTimeout(function () { typing.hidden = true; }, 15000);
  }

  // The status line. `detail` (from handoff/realtime.py) has position, estimated_wait_seconds, agent_name, text.
  function showStatus(newStatus, detail) {
    status = newStatus;
    detail = detail || {};
    var text = "";
    if (newStatus === "queued") {
      // The short form: the whole sentence is in the chat already, said once.
      text = detail.status_text || detail.text || "Waiting for a person…";
      if (!detail.status_text && !detail.text && detail.estimated_wait_seconds) text += " (about " + Math.max(1, Math.round(detail.estimated_wait_seconds / 60)) + " min)";
    } else if (newStatus === "assigned") {
      text = detail.text || (detail.agent_name ? "You're chatting with " + detail.agent_name + "." : "A person has joined.");
    } else if (newStatus === "resolved") {
      text = detail.text || "This conversation is closed. Write again to reopen it.";
    }
    statusLine.textContent = connection || text;
    // A person is for a visitor who has written: the server refuses a request from an empty chat.
    personButton.hidden = !state.conversation || newStatus === "queued" || newStatus === "assigned";
    waitingBar.hidden = newStatus !== "queued";
    endButton.hidden = !state.conversation || !newStatus || newStatus === "resolved";
    keepChatting.hidden = !!detail.bot_while_waiting;
    showCard(newStatus, detail);
    scrollDown(); // a card that appeared took room from the log: keep the last message in view
    box.setAttribute("data-status", newStatus || "bot");
    emit("status", { status: newStatus, detail: detail });
  }

  function ratingKey(detail) { return state.conversation + ":" + (detail.csat.handoff_id || "bot"); }

  var emailTimer = null;
  function showCard(newStatus, detail) {
    while (card.firstChild) card.removeChild(card.firstChild);
    card.hidden = true;
    clearTimeout(emailTimer);
    // In hours with nobody online the email is offered once the visitor has waited a while.
    if (newStatus === "queued" && !detail.ask_email && detail.ask_email_in_seconds) {
      emailTimer = setTimeout(function () {
        if (status === "queued" && lastDetail === detail) showCard("queued", Object.assign({}, detail, { ask_email: true }));
      }, detail.ask_email_in_seconds * 1000);
    }
    if (newStatus === "queued" && detail.ask_email && !state.email) {
      var contact = el("form", { class: "hw-contact" });
      contact.appendChild(el("label", { for: "hw-email" }, emailReplies
        ? "Leave your email and we'll reply there if we can't reach you here:"
        : "Leave your email so the team can get back to you:"));
      var email = el("input", { id: "hw-email", type: "email", required: "", autocomplete: "email", placeholder: "name@example.com" });
      contact.appendChild(email);
      contact.appendChild(el("button", { type: "submit" }, "Save email"));
      contact.addEventListener("submit", function (e) { e.preventDefault(); send({ type: "contact", email: email.value }); });
      card.appendChild(contact);
      card.hidden = false;
    } else if (newStatus === "resolved" && detail.csat && state.rated !== ratingKey(detail)) {
      var rate = el("form", { class: "hw-csat" });
      var who = detail.csat.agent_name ? "How did " + detail.csat.agent_name + " do?" : "How did our assistant do?";
      var set = el("fieldset");
      set.appendChild(el("legend", {}, who + " (1 = poor, 5 = great)"));
      var chosen = 0;
      for (var n = 1; n <= 5; n++) {
        (function (score) {
          var b = el("button", { type: "button", class: "hw-score", "aria-pressed": "false", "aria-label": score + " out of 5" }, String(score));
          b.addEventListener("click", function () {
            chosen = score;
            set.querySelectorAll(".hw-score").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
          });
          set.appendChild(b);
        })(n);
      }
      rate.appendChild(set);
      rate.appendChild(el("label", { for: "hw-comment" }, "Anything to add? (optional)"));
      var comment = el("textarea", { id: "hw-comment", rows: "2", maxlength: "2000" });
      rate.appendChild(comment);
      rate.appendChild(el("button", { type: "submit" }, "Send rating"));
      rate.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!chosen) return showError("Pick a score from 1 to 5 first.");
        send({ type: "csat", score: chosen, comment: comment.value });
      });
      card.appendChild(rate);
      card.hidden = false;
    }
  }

  function showThanks(text) {
    while (card.firstChild) card.removeChild(card.firstChild);
    card.appendChild(el("p", { class: "hw-thanks" }, text));
    card.hidden = false;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  // --- Unread badge (messages that arrived while the panel was closed) ---------------------------
  function markUnread() {
    if (state.open) {
      if (maxSeq > state.lastSeen) { state.lastSeen = maxSeq; save(); }
      badge.hidden = true;
      return;
    }
    var unread = 0;
    for (var seq in bySeq) if (+seq > state.lastSeen && !bySeq[seq].classList.contains("hw-msg--visitor")) unread++;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    badge.hidden = unread === 0;
    launcher.setAttribute("aria-label", "Open chat: " + cfg.title + (unread ? " (" + unread + " new)" : ""));
  }

  // --- Connection: hello, resume, resend; exponential backoff with jitter ------------------------
  var ws = null;
  var ready = false; // welcomed on this socket
  var attempt = 0;
  var retryTimer = null;
  var lastFrame = 0;
  var connection = ""; // connection trouble shown on the status line
  var wantPerson = false;

  function connect() {
    clearTimeout(retryTimer);
    if (ws || navigator.onLine === false) return;
    var socket;
    try { socket = new WebSocket(WS_URL); } catch (e) { return reconnectLater(); }
    ws = socket;
    ready = false;
    socket.onopen = function () {
      lastFrame = Date.now();
      var hello = { type: "hello", token: state.token, page: { url: location.href, title: document.title } };
      if (IDENTITY) hello.identity = IDENTITY;
      send(hello, true);
    };
    socket.onmessage = function (frame) {
      lastFrame = Date.now();
      var ev;
      try { ev = JSON.parse(frame.data); } catch (e) { return; }
      handle(ev);
    };
    socket.onclose = function (closed) {
      if (ws !== socket) return;
      ws = null;
      ready = false;
      if (closed.code === 4401) { forget(); attempt = 0; return connect(); }
      if (closed.code === 4403) return setConnection("We couldn't confirm who you are. Sign in again, then reload the page.");
      setConnection(navigator.onLine === false ? "You're offline. We'll reconnect when you're back." : "Reconnecting…");
      reconnectLater();
    };
  }

  function reconnectLater() {
    clearTimeout(retryTimer);
    // Capped at 8 s: back within seconds of a restart, still spread out (random) across many widgets.
    var delay = Math.random() * Math.min(8000, 500 * Math.pow(2, attempt++));
    retryTimer = setTimeout(connect, Math.max(250, delay));
  }

  function drop() {
    if (!ws) return;
    var socket = ws;
    socket.onclose({ code: 1006 }); // react now; the browser may take a while to notice
    socket.onclose = socket.onmessage = null;
    try { socket.close(); } catch (e) {}
  }

  function send(ev, force) {
    if (!ws || ws.readyState !== 1 || (!ready && !force)) return false;
    ws.send(JSON.stringify(ev));
    return true;
  }

  function setConnection(text) {
    connection = text;
    showStatus(status, lastDetail);
  }

  // The visitor's token no longer works (e.g. the server's key changed): start over as a new visitor.
  function forget() {
    state.token = state.conversation = null;
    state.lastSeen = 0;
    save();
    for (var seq in bySeq) bySeq[seq].remove();
    bySeq = {};
    maxSeq = 0;
  }

  // Where a resume starts: the last seq up to which every message is here, not the highest one. An ack
  // can come before a reply stored just ahead of it that is still on its way over the channel layer;
  // resuming after the ack's seq on a reconnect in between skipped that reply for good.
  function gaplessSeq() {
    var seq = 0;
    while (bySeq[seq + 1]) seq++;
    return seq;
  }

  var lastDetail = {};
  function handle(ev) {
    switch (ev.type) {
      case "welcome": {
        var first = !ready;
        ready = true;
        attempt = 0;
        if (state.conversation && ev.conversation && ev.conversation !== state.conversation) forget();
        state.token = ev.token;
        state.conversation = ev.conversation;
        save();
        limits = ev.limits || limits;
        emailReplies = !!ev.email_replies;
        connection = "";
        lastDetail = ev.status_detail || lastDetail;
        showStatus(ev.status || status, lastDetail);
        if (first) {
          if (ev.conversation) send({ type: "resume", after_seq: gaplessSeq() });
          flushOutbox();
          if (wantPerson) requestPerson();
        }
        break;
      }
      case "history":
        ev.messages.forEach(receiveMessage);
        if (ev.more) send({ type: "resume", after_seq: ev.last_seq });
        break;
      case "message":
        receiveMessage(ev);
        break;
      case "ack": {
        var item = pending[ev.client_id];
        dropOutbox(ev.client_id);
        if (!item) break;
        delete pending[ev.client_id];
        if (bySeq[ev.seq]) { item.remove(); break; }
        item.classList.remove("hw-msg--pending", "hw-msg--failed");
        var meta = item.querySelector(".hw-meta");
        if (meta) meta.remove();
        if (ev.created_at && !item.querySelector(".hw-time")) stamp(item, ev.created_at);
        item.setAttribute("data-seq", String(ev.seq));
        bySeq[ev.seq] = item;
        maxSeq = Math.max(maxSeq, ev.seq);
        place(item, ev.seq);
        break;
      }
      case "typing":
        showTyping(ev);
        break;
      case "bot_delta":
        delta(ev);
        break;
      case "status":
        lastDetail = ev.detail || {};
        showStatus(ev.status, lastDetail);
        // The bot's typing comes as soon as a question is acked; a person may take over before it answers.
        if (ev.status !== "bot" && typingSender === "bot") showTyping(null);
        break;
      case "contact_saved":
        state.email = ev.email;
        save();
        showThanks(emailReplies ? "Thanks, we'll use " + ev.email + " if we can't reply here." : "Thanks, we'll use " + ev.email + " to get back to you.");
        break;
      case "csat_saved":
        state.rated = ratingKey(lastDetail);
        save();
        showThanks("Thanks for your rating!");
        break;
      case "feedback_saved":
        showVote(ev.seq, ev.value);
        break;
      case "error":
        onError(ev);
        break;
    }
  }

  var rateTimer = null;
  function onError(ev) {
    if (ev.client_id && pending[ev.client_id]) {
      if (ev.code === "rate_limited") {
        // Still in the outbox: sent again once the window has room.
        pending[ev.client_id].querySelector(".hw-meta").textContent = "Waiting a moment before sending…";
        clearTimeout(rateTimer);
        rateTimer = setTimeout(flushOutbox, Math.max(1000, (ev.retry_after || 2) * 1000));
      } else {
        failPending(ev.client_id, ev.message, ev.code === "internal_error");
      }
      return;
    }
    if (ev.code === "handoff_failed") wantPerson = false;
    if (ev.code === "identity_refused") return showError(ev.message); // stays: the socket is closed for good
    showError(ev.message || "Something went wrong.");
    setTimeout(function () { showError(""); }, 8000);
  }

  // --- Sending ----------------------------------------------------------------------------------
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function showCount() {
    var length = Array.from(input.value).length, max = limits.max_message_chars;
    counter.hidden = length < max * 0.9;
    counter.classList.toggle("hw-count--over", length > max);
    counter.textContent = length > max
      ? (length - max).toLocaleString() + " characters over the " + max.toLocaleString() + " limit: shorten it or send it in parts."
      : length.toLocaleString() + " / " + max.toLocaleString() + " characters";
  }

  function submit() {
    var text = input.value;
    if (!text.trim()) return;
    if (Array.from(text).length > limits.max_message_chars) {
      showError("Messages can be up to " + limits.max_message_chars.toLocaleString() + " characters; this one has " + Array.from(text).length.toLocaleString() + ". Nothing was cut: shorten it or send it in parts.");
      return;
    }
    showError("");
    var entry = { client_id: newClientId(), text: text };
    state.outbox.push(entry);
    save();
    addPending(entry);
    input.value = "";
    showCount();
    stopTyping();
    if (!send({ type: "message", client_id: entry.client_id, text: entry.text })) connect();
  }

  // Unacked messages go again after a reconnect; the server stores each client_id once.
  function flushOutbox() {
    state.outbox.forEach(function (entry) {
      if (!pending[entry.client_id]) addPending(entry);
      send({ type: "message", client_id: entry.client_id, text: entry.text });
    });
  }

  function dropOutbox(clientId) {
    state.outbox = state.outbox.filter(function (e) { return e.client_id !== clientId; });
    save();
  }

  function requestPerson() {
    wantPerson = true;
    if (send({ type: "handoff_request" })) wantPerson = false;
    else connect();
  }

  var typingSentAt = 0;
  var typingIdle = null;
  function noteTyping() {
    var now = Date.now();
    if (now - typingSentAt > 2500 && send({ type: "typing", is_typing: true })) typingSentAt = now;
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt) send({ type: "typing", is_typing: false });
    typingSentAt = 0;
  }

  // --- Opening, closing, keyboard ---------------------------------------------------------------
  function setOpen(open, focus) {
    state.open = open;
    save();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", (open ? "Minimise chat: " : "Open chat: ") + cfg.title);
    box.classList.toggle("hw--open", open);
    if (open) {
      connect();
      markUnread();
      scrollDown();
      if (focus) input.focus();
    } else if (focus) {
      launcher.focus();
    }
    emit(open ? "open" : "close", {});
  }

  launcher.addEventListener("click", function () { setOpen(!state.open, true); });
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  endButton.addEventListener("click", function () { send({ type: "end_chat" }); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", noteTyping);
  input.addEventListener("input", showCount);
  personButton.addEventListener("click", requestPerson);
  keepChatting.addEventListener("click", function () { send({ type: "bot_while_waiting" }); });
  cancelRequest.addEventListener("click", function () { send({ type: "handoff_cancel" }); });

  // Browsers can keep a dead socket "open" for minutes after the network goes: react to the
  // offline/online events, and replace a socket that has been silent past the ping interval.
  window.addEventListener("offline", function () { drop(); setConnection("You're offline. We'll reconnect when you're back."); });
  window.addEventListener("online", function () { attempt = 0; connect(); });
  setInterval(function () {
    if (!ws || ws.readyState !== 1) return;
    if (Date.now() - lastFrame > DEAD_AFTER) drop();
    else send(missingSomething() ? { type: "resume", after_seq: gaplessSeq() } : { type: "ping" });
  }, PING_EVERY);

  // A message can be stored and its push lost on a socket that stays open (a worker killed between the
  // reply's commit and its broadcast). While a gap is known, or the newest message is the visitor's own
  // (an answer is due), the ping asks for what came after instead: one read, and its answer is a frame.
  function missingSomething() {
    if (!state.conversation) return false;
    var seq = gaplessSeq();
    return maxSeq > seq || (seq > 0 && bySeq[seq].classList.contains("hw-msg--visitor"));
  }

  // --- A small API for the host page -------------------------------------------------------------
  var listeners = {};
  function emit(name, payload) {
    (listeners[name] || []).forEach(function (fn) { try { fn(payload); } catch (e) {} });
  }
  window.HandoffWidget = {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, false); },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
  };

  function start() {
    document.body.appendChild(host);
    showStatus(null, {});
    state.outbox.forEach(addPending);
    if (state.open) setOpen(true, false);
    else if (state.token || state.outbox.length) connect(); // replies and the unread badge
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
