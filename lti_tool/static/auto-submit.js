// Send a form that only carries a message back to the LMS (the Deep Linking response) at once.
// Without JavaScript the page shows the form's button instead.
document.querySelectorAll("form.auto-submit").forEach(function (form) { form.submit(); });
