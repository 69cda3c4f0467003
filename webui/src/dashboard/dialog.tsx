// A modal dialog: labelled by its title, focus moved into it when it opens and back where it was when it closes,
// Escape or a click outside closes it.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Dialog(props: { title?: string; label?: string; id?: string; onClose: () => void; children: ComponentChildren }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>("input:not([type=hidden]):not([disabled]), select, button, a[href]");
    (first ?? box.current)?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") props.onClose(); };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      before?.focus?.();
    };
  }, []);
  const titleId = props.id ? `${props.id}-title` : undefined;
  return (
    <div class="modal" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal-box" role="dialog" aria-modal="true" id={props.id} ref={box} tabIndex={-1}
        aria-labelledby={props.title ? titleId : undefined} aria-label={props.title ? undefined : props.label}>
        {props.title ? (
          <div class="dialog-head">
            <h2 id={titleId}>{props.title}</h2>
            <button type="button" class="icon close" aria-label="Close" onClick={props.onClose}>×</button>
          </div>
        ) : null}
        {props.children}
      </div>
    </div>
  );
}
