/* trainsim dashboard: actions through the documented /_sim endpoints, the live clock and journal.
 *
 * The page is complete server-rendered HTML. This script only
 *  - sends the remote side's actions with fetch() to documented control-plane endpoints,
 *  - re-renders the current view after an action or a clock move (it fetches this same page and swaps
 *    the view in place),
 *  - polls GET clock and GET journal?afterId=N about once a second.
 * Everything it puts on the page goes in through textContent: journal bodies are client data.
 */
(function () {
  "use strict";

  var body = document.body;
  var SID = body.dataset.sandbox || "";
  var API = "/_sim/sandboxes/" + encodeURIComponent(SID);
  var POLL_MS = 1000;
  var LABELS = { bluedrop: "Bluedrop", trainingportal: "Trainingportal", "learning-assistant": "Learning Assistant" };

  // -- HTTP ------------------------------------------------------------------------------------

  function call(method, path, payload) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = text; }
        }
        return { status: resp.status, ok: resp.ok, data: data };
      });
    });
  }

  function messageOf(answer) {
    var d = answer.data;
    if (d && typeof d === "object") {
      if (d.message) return d.message + (d.field ? " (" + d.field + ")" : "");
      if (d.reason) return d.reason;
      if (d.errorMessage) return d.errorMessage;
    }
    return "HTTP " + answer.status;
  }

  // -- flash messages ----------------------------------------------------------------------------

  function flash(tone, title, lines) {
    var region = document.getElementById("flash");
    if (!region) return;
    region.textContent = "";
    var box = document.createElement("div");
    box.className = "flash flash-" + tone;
    box.setAttribute("data-flash", tone);
    var head = document.createElement("div");
    head.className = "flash-head";
    var strong = document.createElement("strong");
    strong.className = "flash-title";
    strong.textContent = title;
    head.appendChild(strong);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("aria-label", "Dismiss this message");
    close.textContent = "×";
    close.addEventListener("click", function () { region.textContent = ""; });
    head.appendChild(close);
    box.appendChild(head);
    (lines || []).forEach(function (line) {
      if (line === null || line === undefined || line === "") return;
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    region.appendChild(box);
  }

  function failed(what, answer) {
    flash("bad", what + " failed", [messageOf(answer)]);
  }

  // -- re-rendering the view -------------------------------------------------------------------

  var refreshing = null;
  var refreshAgain = false;

  function busy() {
    var open = document.querySelector("dialog[open]");
    if (open) return true;
    var active = document.activeElement;
    var view = document.getElementById("view");
    return !!(active && view && view.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  // keep keyboard focus on "the same" control across a re-render (matched by id or accessible name)
  function focusSignature(el, container) {
    if (!el || !container.contains(el) || el === container) return null;
    if (el.id) return { id: el.id };
    var name = el.getAttribute("aria-label");
    return name ? { tag: el.tagName, name: name } : null;
  }

  function restoreFocus(container, key) {
    if (!key) return;
    var el = null;
    if (key.id) el = document.getElementById(key.id);
    else {
      container.querySelectorAll(key.tag).forEach(function (c) {
        if (!el && c.getAttribute("aria-label") === key.name) el = c;
      });
    }
    if (el && container.contains(el)) el.focus({ preventScroll: true });
  }

  function refreshView(force) {
    if (!SID) return Promise.resolve();
    if (refreshing) { refreshAgain = true; return refreshing; }
    if (!force && busy()) {
      // someone is typing or a dialog is open: try again shortly instead of pulling the form away
      setTimeout(function () { refreshView(); }, 1500);
      return Promise.resolve();
    }
    refreshing = fetch(location.pathname + location.search, {
      credentials: "same-origin", headers: { Accept: "text/html" }
    }).then(function (resp) {
      if (!resp.ok) return null;
      return resp.text();
    }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("view");
      var current = document.getElementById("view");
      if (!fresh || !current) return;
      var open = {};
      current.querySelectorAll("details[data-key]").forEach(function (d) { open[d.dataset.key] = d.open; });
      var scrollY = window.scrollY;
      var focusKey = focusSignature(document.activeElement, current);
      var node = document.importNode(fresh, true);
      node.querySelectorAll("details[data-key]").forEach(function (d) {
        if (Object.prototype.hasOwnProperty.call(open, d.dataset.key)) d.open = open[d.dataset.key];
      });
      current.replaceWith(node);
      window.scrollTo(0, scrollY);
      restoreFocus(node, focusKey);
      scheduleDue();
    }).catch(function () { /* the next poll tries again */ }).then(function () {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; setTimeout(function () { refreshView(); }, 300); }
    });
    return refreshing;
  }

  // A view may say when it changes by itself (a booking that becomes readable after its
  // confirmation delay): re-render then, by the sandbox clock.
  var dueTimer = null;

  function scheduleDue() {
    if (dueTimer) { clearTimeout(dueTimer); dueTimer = null; }
    var panel = document.getElementById("clock-panel");
    if (!panel || panel.dataset.frozen === "true") return;
    var now = Date.parse(panel.dataset.now);
    var next = null;
    document.querySelectorAll("#view [data-refresh-at]").forEach(function (el) {
      var at = Date.parse(el.dataset.refreshAt);
      if (!isNaN(at) && at > now - 1000 && (next === null || at < next)) next = at;
    });
    if (next === null || isNaN(now)) return;
    var wait = Math.min(Math.max(next - now, 0) + 400, 60000);
    dueTimer = setTimeout(function () { refreshView(); }, wait);
  }

  // -- the clock -------------------------------------------------------------------------------

  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function timeOf(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  function dateOf(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }

  function offsetText(seconds) {
    if (typeof seconds !== "number") return "";
    if (Math.abs(seconds) < 1) return "real time";
    var sign = seconds > 0 ? "+" : "\u2212";
    var s = Math.floor(Math.abs(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var parts = [];
    if (d) parts.push(d + " d");
    if (h) parts.push(h + " h");
    if (m && !d) parts.push(m + " min");
    if (!parts.length) parts.push((s % 60) + " s");
    return sign + parts.join(" ");
  }

  function clockKey(state) {
    return state.frozen ? "F" + state.now : "L" + state.offsetSeconds;
  }

  function sameKey(a, b) {
    // a running clock's offset is a float: treat sub-second jitter as the same clock
    if (a[0] === "L" && b[0] === "L") return Math.abs(parseFloat(a.slice(1)) - parseFloat(b.slice(1))) < 0.5;
    if (a[0] === "F" && b[0] === "F") return Math.abs(new Date(a.slice(1)) - new Date(b.slice(1))) < 500;
    return a === b;
  }

  function showClock(state) {
    var panel = document.getElementById("clock-panel");
    if (!panel || !state || !state.now) return;
    panel.dataset.now = state.now;
    panel.dataset.frozen = state.frozen ? "true" : "false";
    panel.dataset.offset = String(state.offsetSeconds);
    var t = document.getElementById("clock-time");
    t.textContent = timeOf(state.now);
    t.setAttribute("datetime", state.now);
    document.getElementById("clock-date").textContent = dateOf(state.now);
    var badge = document.getElementById("clock-state");
    badge.textContent = state.frozen ? "Frozen" : "Running";
    badge.className = "badge " + (state.frozen ? "badge-info" : "badge-ok");
    document.getElementById("clock-offset").textContent = state.frozen ? "" : offsetText(state.offsetSeconds);
    var fr = document.getElementById("clock-freeze");
    fr.textContent = state.frozen ? "Unfreeze" : "Freeze";
    fr.setAttribute("aria-pressed", state.frozen ? "true" : "false");
    fr.setAttribute("aria-label", state.frozen ? "Unfreeze the sandbox clock" : "Freeze the sandbox clock");
    var view = document.getElementById("view");
    if (view && view.dataset.clockKey && !sameKey(view.dataset.clockKey, clockKey(state))) {
      view.dataset.clockKey = clockKey(state);
      refreshView();
    }
  }

  function moveClock(payload, what) {
    return call("POST", API + "/clock", payload).then(function (answer) {
      if (!answer.ok) { failed(what, answer); return; }
      showClock(answer.data);
      flash("ok", what, ["Sandbox time is now " + dateOf(answer.data.now) + ", " + timeOf(answer.data.now) +
        " UTC" + (answer.data.frozen ? " (frozen)" : "") + ". Due work has run."]);
      var view = document.getElementById("view");
      if (view) view.dataset.clockKey = clockKey(answer.data);
      return refreshView(true);
    });
  }

  // -- the journal timeline --------------------------------------------------------------------

  var MAX_ENTRIES = 300;

  function pretty(text) {
    if (!text) return "";
    var t = String(text).trim();
    if (t[0] === "{" || t[0] === "[") {
      try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { return text; }
    }
    return text;
  }

  function tone(status) {
    if (!status) return "bad";
    if (status < 300) return "ok";
    if (status < 500) return "warn";
    return "bad";
  }

  function requestText(e) {
    var r = e.request || {};
    var lines = [e.method + " " + e.path + (r.query ? "?" + r.query : "")];
    Object.keys(r.headers || {}).forEach(function (k) { lines.push(k + ": " + r.headers[k]); });
    if (r.form && !r.body) {
      lines.push("");
      Object.keys(r.form).forEach(function (k) { lines.push(k + "=" + r.form[k]); });
    }
    if (r.files) { lines.push(""); lines.push("files: " + JSON.stringify(r.files)); }
    if (r.body) { lines.push(""); lines.push(pretty(r.body)); }
    return lines.join("\n");
  }

  function responseText(e) {
    var r = e.response || {};
    if (r.dropped) return "connection dropped without an answer (fault)";
    var ct = r.headers && r.headers["Content-Type"];
    return "HTTP " + e.status + (ct ? " \u00b7 " + ct : "") + "\n\n" + pretty(r.body || "");
  }

  function fill(node, field, text) {
    var el = node.querySelector('[data-f="' + field + '"]');
    if (el) el.textContent = text;
    return el;
  }

  function entryNode(e) {
    var tpl = document.getElementById("entry-template");
    var node = tpl.content.firstElementChild.cloneNode(true);
    node.dataset.system = e.system;
    node.dataset.id = String(e.id);
    node.querySelector("details").dataset.key = "entry-" + e.id;
    var op = e.operation || "";
    if (op.indexOf(e.system + ".") === 0) op = op.slice(e.system.length + 1);
    var t = fill(node, "time", timeOf(e.at));
    t.setAttribute("datetime", e.at);
    t.title = dateOf(e.at) + " " + timeOf(e.at) + " UTC, sandbox clock";
    var sys = fill(node, "system", LABELS[e.system] || e.system);
    sys.className = "sys-tag sys-" + e.system;
    var st = fill(node, "status", e.status ? String(e.status) : "dropped");
    st.className = "status status-" + tone(e.status);
    fill(node, "duration", Math.round(e.durationMs || 0) + " ms");
    fill(node, "operation", op);
    fill(node, "method", e.method);
    fill(node, "path", e.path);
    fill(node, "request", requestText(e));
    fill(node, "response", responseText(e));
    fill(node, "meta", "Journal #" + e.id + " \u00b7 " + dateOf(e.at) + " " + timeOf(e.at) +
      " UTC sandbox clock \u00b7 wall " + timeOf(e.wallTime));
    node.classList.add("is-new");
    return node;
  }

  var list = document.getElementById("timeline");
  var lastId = list ? parseInt(list.dataset.lastId || "0", 10) || 0 : 0;
  var journalTotal = null;

  function addEntries(items) {
    if (!items.length) return;
    items.sort(function (a, b) { return a.id - b.id; });
    var fragment = document.createDocumentFragment();
    for (var i = items.length - 1; i >= 0; i--) {
      if (items[i].id > lastId) fragment.appendChild(entryNode(items[i]));
    }
    list.insertBefore(fragment, list.firstChild);
    lastId = Math.max(lastId, items[items.length - 1].id);
    list.dataset.lastId = String(lastId);
    while (list.children.length > MAX_ENTRIES) list.removeChild(list.lastElementChild);
    var empty = document.getElementById("timeline-empty");
    if (empty) empty.hidden = true;
    setTimeout(function () {
      list.querySelectorAll(".entry.is-new").forEach(function (n) { n.classList.remove("is-new"); });
    }, 1500);
  }

  function showCount(total) {
    var el = document.getElementById("timeline-count");
    if (el && typeof total === "number") el.textContent = total + " call" + (total === 1 ? "" : "s");
  }

  var filter = document.getElementById("timeline-filter");
  if (filter && list) {
    filter.addEventListener("change", function () { list.dataset.filter = filter.value; });
  }

  // -- polling ---------------------------------------------------------------------------------

  var polling = false;
  var failures = 0;
  var warnedGone = false;

  function poll() {
    if (polling || !SID || document.hidden) return;
    polling = true;
    var clockDone = call("GET", API + "/clock").then(function (a) {
      if (a.ok) showClock(a.data);
      else if ((a.status === 404 || a.status === 401) && !warnedGone) {
        warnedGone = true;
        flash("warn", a.status === 404 ? "This sandbox is gone" : "The admin token is needed again",
          [a.status === 404 ? "Sandbox " + SID + " was deleted or reset away; choose another one above."
                            : "Reload the page to sign in with the server's SIM_ADMIN_TOKEN."]);
      }
      return a.ok;
    });
    var journalDone = list ? call("GET", API + "/journal?afterId=" + lastId + "&limit=200").then(function (a) {
      if (!a.ok || !a.data) return a.ok;
      var items = a.data.items || [];
      if (items.length) {
        addEntries(items);
        refreshView();  // a client's call may have changed what this view shows
      }
      showCount(a.data.total);
      journalTotal = a.data.total;
      return true;
    }) : Promise.resolve(true);
    Promise.all([clockDone, journalDone]).then(function (oks) {
      failures = oks[0] && oks[1] ? 0 : failures + 1;
    }).catch(function () { failures += 1; }).then(function () {
      polling = false;
      var live = document.getElementById("live-indicator");
      if (live) live.classList.toggle("is-off", failures > 2);
    });
  }

  // -- actions ---------------------------------------------------------------------------------

  function enc(v) { return encodeURIComponent(v); }

  function bookingLines(data) {
    var lines = [];
    var b = data && (data.booking || data);
    var d = data && data.delivery;
    if (b && b.bookingReference) lines.push("Booking reference " + b.bookingReference + (b.enrollmentStatus ? " \u00b7 " + b.enrollmentStatus : ""));
    if (b && (b.firstname || b.lastname)) lines.push("Student " + [b.firstname, b.lastname].join(" ").trim() + (b.company ? " (" + b.company + ")" : ""));
    if (d) lines.push("Provider call " + (d.outcome || "") + (d.status ? " \u00b7 HTTP " + d.status : "") +
      (typeof d.durationMs === "number" ? " \u00b7 " + Math.round(d.durationMs) + " ms" : "") + (d.reason ? " \u00b7 " + d.reason : ""));
    return lines;
  }

  var actions = {
    "clock-advance": function (btn) {
      return moveClock({ advance: btn.dataset.duration }, "Clock advanced " + btn.textContent.trim());
    },
    "clock-freeze": function () {
      var frozen = document.getElementById("clock-panel").dataset.frozen === "true";
      return moveClock({ freeze: !frozen }, frozen ? "Clock unfrozen" : "Clock frozen");
    },
    "clock-reset": function () { return moveClock({ reset: true }, "Clock back to real time"); },

    "sandbox-new": function () {
      return call("POST", "/_sim/sandboxes", { fixtures: "demo" }).then(function (a) {
        if (!a.ok) return failed("Creating a sandbox", a);
        location.assign("/_sim/ui/" + enc(a.data.id) + "/");
      });
    },
    "sandbox-reset": function () {
      if (!window.confirm("Reset sandbox " + SID + " to its seeded state? Its data, journal, outbox and clock go back to the start.")) return;
      return call("POST", API + "/reset").then(function (a) {
        if (!a.ok) return failed("Reset", a);
        location.reload();
      });
    },
    "fault-delete": function (btn) {
      return call("DELETE", API + "/faults/" + enc(btn.dataset.fault)).then(function (a) {
        if (!a.ok) return failed("Removing the fault", a);
        flash("ok", "Fault removed", []);
        return refreshView(true);
      });
    },
    "snapshot-restore": function (btn) {
      return call("POST", API + "/snapshots/" + enc(btn.dataset.name) + "/restore").then(function (a) {
        if (!a.ok) return failed("Restore", a);
        flash("ok", "Snapshot " + btn.dataset.name + " restored", ["State and clock are as they were when it was saved."]);
        return refreshView(true);
      });
    },

    // Trainingportal: the student's side of a booking, and the provider's delivery log
    "tp-book": function (btn) {
      var payload = { username: btn.dataset.username, externalCourseId: btn.dataset.course,
                      externalCourseClassId: btn.dataset.class };
      return call("POST", API + "/trainingportal/bookings", payload).then(function (a) {
        if (a.status === 201 || a.ok) {
          flash("ok", "Seat booked on class " + btn.dataset.class, bookingLines(a.data));
        } else if (a.status === 409) {
          flash("warn", "Booking refused by Trainingportal", [messageOf(a), "No call was made to the provider."]);
        } else if (a.status === 502) {
          flash("bad", "The provider did not take the booking", [messageOf(a)].concat(bookingLines(a.data)));
        } else {
          failed("Booking", a);
        }
        return refreshView(true);
      });
    },
    "tp-cancel": function (btn) {
      var ref = btn.dataset.ref;
      return call("POST", API + "/trainingportal/bookings/" + enc(ref) + "/cancel").then(function (a) {
        if (a.ok) flash("ok", "Booking " + ref + " cancelled", bookingLines(a.data));
        else if (a.status === 409) flash("warn", "Cancellation refused", [messageOf(a)]);
        else if (a.status === 502) flash("bad", "The provider did not cancel", [messageOf(a)].concat(bookingLines(a.data)));
        else failed("Cancellation", a);
        return refreshView(true);
      });
    },
    "outbox-retry": function (btn) {
      return call("POST", API + "/outbox/" + enc(btn.dataset.delivery) + "/retry").then(function (a) {
        if (a.ok) flash("ok", "Delivery retried", bookingLines(a.data));
        else flash(a.status === 409 ? "warn" : "bad", "Retry did not go through", [messageOf(a)].concat(bookingLines(a.data)));
        return refreshView(true);
      });
    },

    // Bluedrop: the ministry administrator and the support desk
    "bd-match": function (btn) {
      var id = btn.dataset.record;
      var select = document.getElementById("match-" + btn.dataset.row);
      var learner = select && select.value;
      if (!learner) { flash("warn", "Choose a learner first", ["Pick the learner this record belongs to."]); return; }
      return call("POST", API + "/bluedrop/learning-records/" + enc(id) + "/match",
                  { learnerId: learner, networkKey: btn.dataset.network }).then(function (a) {
        if (!a.ok) return failed("Matching the record", a);
        flash("ok", "Record matched to learner " + learner, ["Learning record " + id + " now counts toward that learner's training."]);
        return refreshView(true);
      });
    },
    "bd-create-learner": function (btn) {
      var id = btn.dataset.record;
      return call("POST", API + "/bluedrop/learning-records/" + enc(id) + "/create-learner",
                  { networkKey: btn.dataset.network }).then(function (a) {
        if (!a.ok) return failed("Creating the learner", a);
        var lid = a.data && (a.data.learnerId || (a.data.learner && a.data.learner.learnerId));
        flash("ok", "New learner created", ["Learning record " + id + (lid ? " belongs to new learner " + lid : " has a new learner") + "."]);
        return refreshView(true);
      });
    },
    "bd-desk": function (btn) {
      var dlg = document.getElementById("desk-dialog");
      var form = dlg.querySelector("form");
      form.reset();
      form.elements.record.value = btn.dataset.record;
      form.elements.mode.value = btn.dataset.mode;
      form.elements.network.value = btn.dataset.network || "";
      var correcting = btn.dataset.mode === "correct";
      dlg.querySelector(".desk-correct").hidden = !correcting;
      form.elements.value.required = correcting;
      document.getElementById("desk-title").textContent = correcting ? "Correct a learning record" : "Void a learning record";
      document.getElementById("desk-sub").textContent = "Record " + btn.dataset.record + " \u00b7 Bluedrop support desk";
      document.getElementById("desk-submit").textContent = correcting ? "Save correction" : "Void record";
      dlg.showModal();
    },
    "bd-history": function (btn) {
      var id = btn.dataset.record;
      var path = API + "/bluedrop/learning-records/" + enc(id) + (btn.dataset.network ? "?networkKey=" + enc(btn.dataset.network) : "");
      return call("GET", path).then(function (a) {
        if (!a.ok) return failed("Reading the record", a);
        var dlg = document.getElementById("history-dialog");
        document.getElementById("history-sub").textContent = "Learning record " + id + " \u00b7 " + (a.data.networkKey || "");
        var list = document.getElementById("history-list");
        list.textContent = "";
        (a.data.history || []).forEach(function (h) {
          var li = document.createElement("li");
          var head = document.createElement("div");
          head.className = "history-head";
          var what = document.createElement("strong");
          what.textContent = (h.action || "").replace(/^./, function (c) { return c.toUpperCase(); });
          head.appendChild(what);
          var meta = document.createElement("span");
          meta.className = "muted small";
          meta.textContent = dateOf(h.at) + " " + timeOf(h.at).slice(0, 5) + " UTC" + (h.by ? " \u00b7 by " + h.by : "") +
            (h.matchState ? " \u00b7 " + h.matchState : "") + (h.learnerId ? " \u00b7 " + h.learnerId : "");
          head.appendChild(meta);
          li.appendChild(head);
          if (h.reason) {
            var r = document.createElement("div");
            r.textContent = "Reason: " + h.reason;
            li.appendChild(r);
          }
          if (h.changes && typeof h.changes === "object" && Object.keys(h.changes).length) {
            var pre = document.createElement("pre");
            pre.className = "code";
            pre.textContent = JSON.stringify(h.changes, null, 2);
            li.appendChild(pre);
          }
          list.appendChild(li);
        });
        if (!list.children.length) {
          var none = document.createElement("li");
          none.textContent = "No history recorded.";
          list.appendChild(none);
        }
        dlg.showModal();
      });
    },
    "dialog-close": function (btn) {
      var dlg = btn.closest("dialog");
      if (dlg) dlg.close();
    },

    // Learning Assistant: the learner's progress, auto-progress and login emails
    "la-met": function (btn) {
      var path = API + "/learning-assistant/candidates/" + enc(btn.dataset.candidate) + "/outcomes/" + enc(btn.dataset.outcome) + "/met";
      return call("POST", path).then(function (a) {
        if (!a.ok) return failed("Marking the outcome met", a);
        flash("ok", "Outcome " + (btn.dataset.ref || "") + " marked met", [btn.dataset.who ? "Progress of " + btn.dataset.who + " updated." : ""]);
        return refreshView(true);
      });
    },
    "email-resend": function (btn) {
      return call("POST", API + "/emails/" + enc(btn.dataset.email) + "/resend").then(function (a) {
        if (!a.ok) return failed("Resending the email", a);
        flash("ok", "Login email re-sent", ["A new link, valid for 24 hours of sandbox time, went to " + ((a.data && a.data.to) || "the learner") + "."]);
        return refreshView(true);
      });
    },
    "example-provider": function (btn) {
      var select = document.getElementById("example-mode");
      return call("POST", "/_sim/example-provider/behaviour", { sandbox: SID, mode: select.value }).then(function (a) {
        if (!a.ok) return failed("Changing the example provider", a);
        flash("ok", "Example provider now answers: " + select.value, []);
        return refreshView(true);
      });
    }
  };

  var forms = {
    "sandbox-select": function () { /* handled on change */ },
    "clock-custom": function (form) {
      var value = form.elements.advance.value.trim();
      if (!value) return;
      var numeric = /^[0-9]+(\.[0-9]+)?$/.test(value);
      return moveClock({ advance: numeric ? parseFloat(value) : value.toUpperCase() }, "Clock advanced by " + value).then(function () {
        form.reset();
      });
    },
    "snapshot-save": function (form) {
      var name = form.elements.name.value.trim();
      return call("POST", API + "/snapshots", { name: name }).then(function (a) {
        if (!a.ok) return failed("Saving the snapshot", a);
        flash("ok", "Snapshot " + name + " saved", ["Restore it from this card to come back to this moment."]);
        return refreshView(true);
      });
    },
    "desk": function (form, ev) {
      var dlg = form.closest("dialog");
      var id = form.elements.record.value;
      var mode = form.elements.mode.value;
      var reason = form.elements.reason.value.trim();
      var payload = { reason: reason };
      if (form.elements.network.value) payload.networkKey = form.elements.network.value;
      if (mode === "correct") {
        var field = form.elements.field.value;
        var raw = form.elements.value.value.trim();
        var value = field === "learner.birthYear" && /^[0-9]+$/.test(raw) ? parseInt(raw, 10) : raw;
        var fields = {};
        var parts = field.split(".");
        if (parts.length === 2) { fields[parts[0]] = {}; fields[parts[0]][parts[1]] = value; }
        else fields[field] = value;
        payload.fields = fields;
      }
      ev.preventDefault();
      return call("POST", API + "/bluedrop/learning-records/" + enc(id) + "/" + mode, payload).then(function (a) {
        if (!a.ok) {
          failed(mode === "void" ? "Voiding the record" : "The correction", a);
          return;
        }
        dlg.close();
        flash("ok", mode === "void" ? "Learning record " + id + " voided" : "Learning record " + id + " corrected",
          ["Reason: " + reason]);
        return refreshView(true);
      });
    },
    "provider-settings": function (form) {
      var payload = {};
      ["reservationUrl", "cancellationUrl"].forEach(function (k) {
        var el = form.elements[k];
        if (el && el.value.trim() !== el.defaultValue.trim()) payload[k] = el.value.trim();
      });
      ["confirmationDelaySeconds", "timeoutSeconds"].forEach(function (k) {
        var el = form.elements[k];
        if (el && el.value !== el.defaultValue && el.value !== "") payload[k] = Number(el.value);
      });
      if (!Object.keys(payload).length) { flash("info", "Nothing changed", []); return; }
      var user = form.dataset.username;
      return call("PATCH", API + "/trainingportal/providers/" + enc(user), payload).then(function (a) {
        if (!a.ok) return failed("Saving the provider settings", a);
        flash("ok", "Provider " + user + " updated", Object.keys(payload).map(function (k) { return k + " = " + payload[k]; }));
        return refreshView(true);
      });
    }
  };

  var inFlight = new WeakSet();

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-action]");
    if (!btn || btn.tagName === "SELECT" || btn.tagName === "INPUT") return;
    var fn = actions[btn.dataset.action];
    if (!fn) return;
    ev.preventDefault();
    if (inFlight.has(btn)) return;
    inFlight.add(btn);
    btn.setAttribute("aria-busy", "true");
    btn.disabled = true;
    Promise.resolve().then(function () { return fn(btn); }).catch(function (err) {
      flash("bad", "Something went wrong", [String(err && err.message || err)]);
    }).then(function () {
      inFlight.delete(btn);
      btn.removeAttribute("aria-busy");
      btn.disabled = false;
    });
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-form]");
    if (!form) return;
    var fn = forms[form.dataset.form];
    if (!fn) return;
    ev.preventDefault();
    Promise.resolve().then(function () { return fn(form, ev); }).catch(function (err) {
      flash("bad", "Something went wrong", [String(err && err.message || err)]);
    });
  });

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.id === "sandbox-select" && t.value) {
      var view = t.dataset.view && t.dataset.view !== "overview" ? t.dataset.view : "";
      location.assign("/_sim/ui/" + enc(t.value) + "/" + view);
      return;
    }
    if (t.dataset && t.dataset.action === "la-auto") {
      var enabled = t.checked;
      t.disabled = true;
      call("POST", API + "/learning-assistant/auto-progress", { enabled: enabled }).then(function (a) {
        if (!a.ok) { t.checked = !enabled; failed("Switching auto-progress", a); return; }
        flash("ok", "Auto-progress " + (enabled ? "on" : "off"), [enabled
          ? "Learners now meet outcomes steadily between their start and planned end dates as the sandbox clock moves."
          : "Progress now changes only when an outcome is marked met."]);
        return refreshView(true);
      }).catch(function (err) {
        flash("bad", "Something went wrong", [String(err)]);
      }).then(function () { t.disabled = false; });
    }
  });

  if (SID) {
    scheduleDue();
    setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  }
})();
