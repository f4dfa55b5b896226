// A tiny allow-list markdown renderer that only ever creates DOM nodes and text nodes.
// Bot and user text never reaches innerHTML, so `<img onerror=...>` stays visible text.
// Supported: paragraphs, line breaks, "- " and "1. " lists, **bold**, *italic*, `code`,
// [links](https://...) with http(s)/mailto only, and citation markers [1] linked to sources.

const INLINE = /(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\)|\[\d+\])/g;
const SAFE_URL = /^(https?:\/\/|mailto:)/i;

function link(doc, text, href) {
  const a = doc.createElement("a");
  a.textContent = text;
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  return a;
}

function inline(doc, parent, text, citations) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.appendChild(doc.createTextNode(text.slice(last, match.index)));
    const token = match[0];
    let node;
    if (token.startsWith("**")) {
      node = doc.createElement("strong");
      node.textContent = token.slice(2, -2);
    } else if (token.startsWith("`")) {
      node = doc.createElement("code");
      node.textContent = token.slice(1, -1);
    } else if (token.startsWith("*")) {
      node = doc.createElement("em");
      node.textContent = token.slice(1, -1);
    } else if (/^\[\d+\]$/.test(token)) {
      const source = citations.find((c) => `[${c.index}]` === token);
      node = source && SAFE_URL.test(source.url || "") ? link(doc, token, source.url) : doc.createTextNode(token);
      if (source && node.setAttribute) node.setAttribute("title", source.title || "");
    } else {
      const [, label, href] = token.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      node = SAFE_URL.test(href) ? link(doc, label, href) : doc.createTextNode(token);
    }
    parent.appendChild(node);
    last = match.index + token.length;
  }
  if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
}

export function renderMarkdown(doc, text, citations = []) {
  const root = doc.createDocumentFragment();
  const blocks = String(text).replace(/\r\n/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    if (!lines.length) continue;
    const bullet = lines.every((l) => /^\s*[-*]\s+/.test(l));
    const numbered = lines.every((l) => /^\s*\d+[.)]\s+/.test(l));
    if (bullet || numbered) {
      const list = doc.createElement(bullet ? "ul" : "ol");
      for (const l of lines) {
        const li = doc.createElement("li");
        inline(doc, li, l.replace(/^\s*([-*]|\d+[.)])\s+/, ""), citations);
        list.appendChild(li);
      }
      root.appendChild(list);
      continue;
    }
    const p = doc.createElement("p");
    lines.forEach((l, i) => {
      if (i) p.appendChild(doc.createElement("br"));
      inline(doc, p, l, citations);
    });
    root.appendChild(p);
  }
  return root;
}
