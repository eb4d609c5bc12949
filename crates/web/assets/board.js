// The pipeline board: drag a card to another column to move the opportunity
// to that stage. Progressive enhancement only: without this script every
// card has a stage form that posts. Built from pointer events (mouse, pen,
// touch) rather than HTML5 drag and drop, which touch screens lack. No HTML
// is built from strings here: text goes in through textContent.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (!board || !board.hasAttribute("data-writable") || !window.fetch) {
      return;
    }
    board.classList.add("js");
    var csrf = board.getAttribute("data-csrf") || "";
    var errorBox = document.getElementById("board-error");
    var drag = null;
    var suppressClickUntil = 0;
    board.addEventListener(
      "click",
      function (ev) {
        if (Date.now() < suppressClickUntil) {
          ev.preventDefault();
        }
      },
      true
    );

    function showError(text) {
      if (!errorBox) {
        return;
      }
      errorBox.textContent = (board.getAttribute("data-refused") || "") + ": " + text;
      errorBox.hidden = false;
    }

    function clearError() {
      if (errorBox) {
        errorBox.hidden = true;
        errorBox.textContent = "";
      }
    }

    function columnAt(x, y) {
      var el = document.elementFromPoint(x, y);
      return el && el.closest ? el.closest(".column") : null;
    }

    function recount() {
      board.querySelectorAll(".column").forEach(function (col) {
        var small = col.querySelector("h2 small");
        if (small) {
          var n = col.querySelectorAll(".opp").length;
          small.textContent = small.textContent.replace(/^\d+/, String(n));
        }
      });
    }

    function highlight(col) {
      board.querySelectorAll(".column.over").forEach(function (c) {
        if (c !== col) {
          c.classList.remove("over");
        }
      });
      if (col) {
        col.classList.add("over");
      }
    }

    function send(card, stage, reason) {
      var body = { stage: stage, version: Number(card.getAttribute("data-version")) };
      if (reason) {
        body.lost_reason = reason;
      }
      return fetch("/api/v1/opportunities/" + card.getAttribute("data-id") + "/stage", {
        method: "PATCH",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(
          function (json) {
            return { ok: r.ok, status: r.status, json: json };
          },
          function () {
            return { ok: r.ok, status: r.status, json: null };
          }
        );
      });
    }

    function move(card, home, next, stage) {
      function back(message) {
        home.insertBefore(card, next && next.parentNode === home ? next : null);
        card.classList.remove("pending");
        recount();
        showError(message);
      }
      function attempt(reason) {
        send(card, stage, reason).then(
          function (res) {
            if (res.ok && res.json) {
              card.setAttribute("data-version", String(res.json.version));
              card.setAttribute("data-stage", res.json.stage);
              card.classList.remove("pending");
              card.querySelectorAll("input[name=version]").forEach(function (i) {
                i.value = String(res.json.version);
              });
              return;
            }
            var err = (res.json && res.json.error) || {};
            var fields = err.fields || [];
            var needsReason = fields.some(function (f) {
              return f.field === "lost_reason";
            });
            if (needsReason && !reason) {
              var given = window.prompt(board.getAttribute("data-reason-prompt") || "", "");
              if (given && given.trim()) {
                attempt(given.trim());
                return;
              }
            }
            var text = fields.length
              ? fields
                  .map(function (f) {
                    return f.message;
                  })
                  .join("; ")
              : err.message || String(res.status);
            back(text);
          },
          function () {
            back("network");
          }
        );
      }
      clearError();
      card.classList.add("pending");
      attempt(null);
    }

    board.addEventListener("pointerdown", function (e) {
      var card = e.target.closest(".opp");
      if (!card || e.button !== 0 || e.target.closest("form")) {
        return;
      }
      drag = { card: card, x: e.clientX, y: e.clientY, moved: false, home: card.parentNode, next: card.nextSibling };
      e.preventDefault();
    });

    document.addEventListener("pointermove", function (e) {
      if (!drag) {
        return;
      }
      var dx = e.clientX - drag.x;
      var dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) {
        return;
      }
      drag.moved = true;
      drag.card.classList.add("dragging");
      drag.card.style.transform = "translate(" + dx + "px, " + dy + "px)";
      highlight(columnAt(e.clientX, e.clientY));
    });

    function finish(e, cancelled) {
      if (!drag) {
        return;
      }
      var d = drag;
      drag = null;
      d.card.classList.remove("dragging");
      d.card.style.transform = "";
      highlight(null);
      if (!d.moved || cancelled) {
        return;
      }
      // A drag is not a click on the card's link.
      suppressClickUntil = Date.now() + 300;
      var col = columnAt(e.clientX, e.clientY);
      if (!col || col === d.home) {
        return;
      }
      col.appendChild(d.card);
      recount();
      move(d.card, d.home, d.next, col.getAttribute("data-stage"));
    }

    document.addEventListener("pointerup", function (e) {
      finish(e, false);
    });
    document.addEventListener("pointercancel", function (e) {
      finish(e, true);
    });
  });
})();
