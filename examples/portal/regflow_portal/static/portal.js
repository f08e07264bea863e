// Progressive enhancement only: every page works without it.
"use strict";

// A form is sent once: a double click or an impatient second press does nothing.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.hasAttribute("data-once")) return;
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  form.setAttribute("aria-busy", "true");
});

// "Gửi lại OTP" appears when the wait the server counted is over.
function startCountdown(wait) {
  const button = document.getElementById("resend");
  const seconds = wait.querySelector("[data-seconds]");
  let left = Number(wait.dataset.countdown);
  const timer = setInterval(() => {
    left -= 1;
    if (seconds) seconds.textContent = String(Math.max(left, 0));
    if (left > 0) return;
    clearInterval(timer);
    wait.hidden = true;
    if (button) button.hidden = false;
  }, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const wait = document.querySelector("[data-countdown]");
  if (wait && Number(wait.dataset.countdown) > 0) startCountdown(wait);
});

// A page restored from the back-forward cache may show an old step: ask the server again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});
