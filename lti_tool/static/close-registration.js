// Tell the platform that Dynamic Registration is finished (LTI DR 1.0, section 3.6).
(window.opener || window.parent).postMessage({ subject: "org.imsglobal.lti.close" }, "*");
