// The bot page: keeps the widget and voice fields and their JSON ("Advanced") in step, draws the
// widget's live preview, and plays a voice sample. Plain script: the admin has no build step.
(function () {
  "use strict";

  function groupFields(group) {
    return Array.from(document.querySelectorAll('[data-settings-group="' + group + '"]'));
  }

  function readField(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.tagName === "TEXTAREA") return input.value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (input.type === "number") return input.value === "" ? null : Number(input.value);
    return input.value;
  }

  function writeField(input, value) {
    if (input.type === "checkbox") input.checked = Boolean(value);
    else if (input.tagName === "TEXTAREA") input.value = Array.isArray(value) ? value.join("\n") : "";
    else input.value = value === null || value === undefined ? "" : value;
  }

  function linkJson(group) {
    const box = document.getElementById("id_" + group);
    const inputs = groupFields(group);
    if (!box || !inputs.length) return;
    inputs.forEach((input) =>
      input.addEventListener("input", () => {
        let data;
        try {
          data = JSON.parse(box.value || "{}");
        } catch (e) {
          return; // the JSON box has a typo being fixed: leave it alone
        }
        data[input.dataset.settingsKey] = readField(input);
        box.value = JSON.stringify(data, null, 2);
      }),
    );
    box.addEventListener("input", () => {
      let data;
      try {
        data = JSON.parse(box.value || "{}");
      } catch (e) {
        return;
      }
      inputs.forEach((input) => {
        if (input.dataset.settingsKey in data) writeField(input, data[input.dataset.settingsKey]);
      });
      drawPreview();
    });
  }

  function value(id) {
    const input = document.getElementById(id);
    return input ? input.value : "";
  }

  function drawPreview() {
    const preview = document.getElementById("widget-preview");
    if (!preview) return;
    const strings = JSON.parse(preview.dataset.strings);
    const words = strings[value("id_language")] || strings.en;
    const primary = value("id_widget_primary_color") || "#4f46e5";
    const text = value("id_widget_text_color") || "#ffffff";
    const side = value("id_widget_launcher_position") || "right";
    preview.style.setProperty("--sb-primary", primary);
    preview.style.setProperty("--sb-text", text);
    preview.querySelector(".sbp-title").textContent = value("id_widget_title") || "Chat with us";
    preview.querySelector(".sbp-greeting").textContent = value("id_greeting") || "…";
    preview.querySelector(".sbp-greeting").hidden = !value("id_greeting");
    preview.querySelector(".sbp-input").textContent = words.placeholder;
    preview.querySelector(".sbp-send").textContent = words.send;
    const avatar = preview.querySelector(".sbp-avatar");
    const url = value("id_widget_avatar_url");
    avatar.hidden = !/^https?:\/\//.test(url);
    if (!avatar.hidden) avatar.src = url;
    preview.querySelectorAll(".sbp-panel, .sbp-launcher").forEach((el) => {
      el.style.left = side === "left" ? "16px" : "auto";
      el.style.right = side === "left" ? "auto" : "16px";
    });
  }

  function voiceSample() {
    const button = document.getElementById("voice-sample");
    if (!button) return;
    const status = document.getElementById("voice-sample-status");
    const audio = document.getElementById("voice-sample-audio");
    button.addEventListener("click", async () => {
      const params = new URLSearchParams({
        voice: value("id_voice_tts_voice"),
        rate: value("id_voice_speaking_rate") || "1",
      });
      status.textContent = "Fetching a sample…";
      const response = await fetch(button.dataset.url + "?" + params, { credentials: "same-origin" });
      if (!response.ok) {
        status.textContent = (await response.json()).error;
        return;
      }
      audio.src = URL.createObjectURL(await response.blob());
      audio.hidden = false;
      status.textContent = "Playing a sample of this voice.";
      audio.play().catch(() => {
        status.textContent = "Sample ready: press play.";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    linkJson("widget");
    linkJson("voice");
    ["id_language", "id_greeting"].forEach((id) => {
      const input = document.getElementById(id);
      if (input) input.addEventListener("input", drawPreview);
    });
    groupFields("widget").forEach((input) => input.addEventListener("input", drawPreview));
    drawPreview();
    voiceSample();
  });
})();

// "Test this tool" on a tool of the bot page: calls the saved tool with the arguments typed.
window.switchboardTestTool = async function (button) {
  const box = button.closest(".tool-test");
  const status = box.querySelector("[data-status]");
  const args = {};
  box.querySelectorAll("[data-argument]").forEach((input) => (args[input.dataset.argument] = input.value));
  status.textContent = "Calling…";
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(box.dataset.url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    credentials: "same-origin",
    body: JSON.stringify(args),
  });
  const data = await response.json();
  if (!response.ok) {
    status.textContent = data.error;
    return;
  }
  status.textContent = data.ok ? "It worked." : "It failed: the bot gets the reason below.";
  box.querySelector("[data-bot-gets]").textContent = data.bot_gets;
  box.querySelector("[data-response]").textContent =
    data.response === null ? "Not shown: this method is only called once, so as to change nothing twice." : data.response;
  box.querySelector("[data-result]").hidden = false;
};
