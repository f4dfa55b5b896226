import { useCallback, useRef, useState } from "react";

// Undo / redo over snapshots of the canvas. Callers push a snapshot after each finished
// change (a drop, a connection, a form edit, the end of a drag), not on every mouse move.
export function useHistory(limit = 200) {
  const past = useRef([]);
  const future = useRef([]);
  const [, bump] = useState(0);

  const push = useCallback(
    (snapshot) => {
      past.current.push(snapshot);
      if (past.current.length > limit) past.current.shift();
      future.current = [];
      bump((x) => x + 1);
    },
    [limit],
  );

  const undo = useCallback((current) => {
    if (!past.current.length) return null;
    future.current.push(current);
    bump((x) => x + 1);
    return past.current.pop();
  }, []);

  const redo = useCallback((current) => {
    if (!future.current.length) return null;
    past.current.push(current);
    bump((x) => x + 1);
    return future.current.pop();
  }, []);

  const reset = useCallback(() => {
    past.current = [];
    future.current = [];
    bump((x) => x + 1);
  }, []);

  return { push, undo, redo, reset, canUndo: past.current.length > 0, canRedo: future.current.length > 0 };
}
