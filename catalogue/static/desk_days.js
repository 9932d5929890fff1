// The day editor on the school's offering form, without a round trip: "Tilføj dag" and "Fjern" are submit
// buttons that work without JavaScript (the server shows the form again); here they change the rows in place.
// A script file, never inline, so the pages keep a strict Content-Security-Policy.
(function () {
  "use strict";

  function nextDay(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!match) return "";
    var day = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3] + 1));
    return day.toISOString().slice(0, 10);
  }

  function renumber(editor) {
    editor.querySelectorAll("[data-day]").forEach(function (row, index) {
      row.querySelector(".day-name").textContent = "Dag " + (index + 1);
      row.querySelectorAll("[id], [for], [aria-describedby]").forEach(function (element) {
        ["id", "for", "aria-describedby"].forEach(function (name) {
          var value = element.getAttribute(name);
          if (value) element.setAttribute(name, value.replace(/day-\d+-/g, "day-" + index + "-"));
        });
      });
      var remove = row.querySelector("button[name=remove_day]");
      remove.value = String(index);
      remove.querySelector(".visually-hidden").textContent = " dag " + (index + 1);
    });
  }

  function addDay(editor) {
    var rows = editor.querySelectorAll("[data-day]");
    var last = rows[rows.length - 1];
    var row = last.cloneNode(true);
    row.querySelectorAll("p.error").forEach(function (error) { error.remove(); });
    row.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    row.querySelector("input[name=day-id]").value = "";
    row.querySelector("input[name=day-date]").value = nextDay(last.querySelector("input[name=day-date]").value);
    row.querySelector("input[name=day-start]").value = last.querySelector("input[name=day-start]").value;
    row.querySelector("input[name=day-end]").value = last.querySelector("input[name=day-end]").value;
    last.after(row);
    renumber(editor);
    row.querySelector("input[name=day-date]").focus();
  }

  function removeDay(editor, row) {
    var rows = editor.querySelectorAll("[data-day]");
    if (rows.length === 1) {
      row.querySelectorAll("input").forEach(function (field) { field.value = ""; });
    } else {
      row.remove();
    }
    renumber(editor);
    editor.querySelector("button[name=add_day]").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-day-editor]").forEach(function (editor) {
      editor.addEventListener("click", function (event) {
        var button = event.target.closest("button");
        if (!button) return;
        if (button.name === "add_day") {
          event.preventDefault();
          addDay(editor);
        } else if (button.name === "remove_day") {
          event.preventDefault();
          removeDay(editor, button.closest("[data-day]"));
        }
      });
    });
  });
})();
