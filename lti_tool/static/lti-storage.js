// LTI Client Side postMessages: keep the OIDC state in the platform's storage when the
// browser will not keep the tool's cookie inside the platform's frame.
//
// The page holds an element #lti-storage whose data- attributes say what to do:
//   data-mode="put": store data-state and data-nonce, then go to data-next (the platform's
//                    authorization URL);
//   data-mode="get": read the state back and submit the element (a form) with the value
//                    found in its lti_storage_state field, for the server to compare.
// Messages go only to data-origin (the platform's authorization endpoint's origin) and only
// answers from that origin and from the target frame are read.
(function () {
  "use strict";
  var TIMEOUT_MS = 3000;
  var root = document.getElementById("lti-storage");
  if (!root) {
    return;
  }
  var data = root.dataset;
  var origin = data.origin;

  function targetFrame() {
    var parent = window.parent;
    if (!parent || parent === window) {
      return null;
    }
    if (data.target === "_parent") {
      return parent;
    }
    try {
      return parent.frames[data.target] || null;
    } catch (error) {
      return null;
    }
  }

  function messageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // Send one message; resolve with the answer, or with null on an error or no answer in time.
  function send(frame, message) {
    return new Promise(function (resolve) {
      var id = messageId();
      var timer = window.setTimeout(finish, TIMEOUT_MS, null);
      function finish(answer) {
        window.clearTimeout(timer);
        window.removeEventListener("message", listen);
        resolve(answer);
      }
      function listen(event) {
        var answer = event.data;
        if (event.origin !== origin || event.source !== frame) {
          return;
        }
        if (!answer || typeof answer !== "object" || answer.message_id !== id ||
            answer.subject !== message.subject + ".response") {
          return;
        }
        finish(answer.error ? null : answer);
      }
      window.addEventListener("message", listen);
      message.message_id = id;
      frame.postMessage(message, origin);
    });
  }

  function put() {
    var frame = targetFrame();
    var next = function () { window.location.replace(data.next); };
    if (!frame || !origin) {
      next();
      return;
    }
    Promise.all([
      send(frame, { subject: "lti.put_data", key: "state_" + data.state, value: data.state }),
      send(frame, { subject: "lti.put_data", key: "nonce_" + data.nonce, value: data.nonce }),
    ]).then(next, next);
  }

  function get() {
    var frame = targetFrame();
    var field = root.elements.namedItem("lti_storage_state");
    var submit = function (answer) {
      field.value = answer && typeof answer.value === "string" ? answer.value : "";
      root.submit();
    };
    if (!frame || !origin) {
      submit(null);
      return;
    }
    send(frame, { subject: "lti.get_data", key: data.key }).then(submit, function () { submit(null); });
  }

  if (data.mode === "put") {
    put();
  } else if (data.mode === "get") {
    get();
  }
})();
