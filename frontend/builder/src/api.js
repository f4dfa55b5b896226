// All requests of the page: same-origin, session cookie, Django's CSRF header.

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : document.querySelector("[name=csrfmiddlewaretoken]")?.value;
}

export async function request(method, url, body) {
  const res = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return { status: res.status, ok: res.ok, data };
}

export function url(template, params) {
  return template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
}

// Our JSON endpoints answer {"detail"}; the management API answers {"error": {"message"}}.
export function errorMessage(res, fallback) {
  return res.data?.error?.message || res.data?.detail || fallback;
}
