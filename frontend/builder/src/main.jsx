import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import App from "./App";

// The page embeds the bot's data (flows, prompts, tools, intents, knowledge bases, URLs) as JSON.
const cfg = JSON.parse(document.getElementById("sb-builder-data").textContent);
window.SB_BUILDER = cfg;
createRoot(document.getElementById("sb-builder")).render(<App cfg={cfg} />);
