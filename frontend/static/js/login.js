import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    await api("/api/v1/auth/login", {
      method: "POST",
      json: { username: data.get("username"), password: data.get("password") },
    });
    window.location.href = form.dataset.next || "/";
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});
