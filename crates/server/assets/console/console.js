// hireplane console: drag and drop on the pipeline board, as an enhancement. Every move is also
// a form on its card (keyboard and no script alike); dropping a card on a column fills that
// form's stage and submits it, so a drop is exactly the keyboard's move.
(function () {
  "use strict";
  var dragged = null;
  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest("[data-card]");
    if (!card) return;
    dragged = card;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.getAttribute("data-card"));
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  document.addEventListener("dragover", function (e) {
    var column = e.target.closest && e.target.closest("[data-stage]");
    if (!column || !dragged) return;
    e.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (e) {
    var column = e.target.closest && e.target.closest("[data-stage]");
    if (column && !column.contains(e.relatedTarget)) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (e) {
    var column = e.target.closest && e.target.closest("[data-stage]");
    if (!column || !dragged) return;
    e.preventDefault();
    var form = dragged.querySelector("form[data-move]");
    var stage = column.getAttribute("data-stage");
    if (!form || !stage || column.contains(dragged)) return;
    form.querySelector("select[name=to_stage]").value = stage;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
  // After htmx swaps the board, focus its heading so a keyboard user keeps their place.
  document.addEventListener("htmx:afterSwap", function (e) {
    var h = document.getElementById("board-heading");
    if (h) h.focus();
  });
})();
