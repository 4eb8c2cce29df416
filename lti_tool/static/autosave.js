/* Saves a draft attempt a moment after the learner stops typing, and counts words in answers. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = form.querySelector(".autosave-status");
  var timer = null;
  var dirty = false;
  var submitting = false;

  function save() {
    timer = null;
    if (!dirty || submitting) { return; }
    dirty = false;
    fetch(form.dataset.autosave, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      status.textContent = status.dataset.savedText + " " + new Date(data.saved_at).toLocaleTimeString();
    }).catch(function () {
      dirty = true;
      status.textContent = status.dataset.failedText;
    });
  }

  function changed() {
    dirty = true;
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 1500);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () {
    submitting = true;
    if (timer) { clearTimeout(timer); }
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-word-count]"), function (counter) {
    var field = document.getElementById(counter.dataset.wordCount);
    if (!field) { return; }
    var label = counter.dataset.wordsLabel || "words";
    function update() {
      var text = field.value.trim();
      counter.textContent = (text ? text.split(/\s+/).length : 0) + " " + label;
    }
    field.addEventListener("input", update);
    update();
  });
}());
