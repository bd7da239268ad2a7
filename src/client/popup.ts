/** Shown in the popup until the login URL is known. A constant: no server data ever goes in. */
export const HOLDING_TEXT = "Opening ChatGPT login…";

/**
 * Opens a blank login popup; must run synchronously inside the click handler.
 * Returns null when the browser blocked it.
 * @example const w = openLoginPopup(); // in onClick, before any await
 */
export function openLoginPopup(): Window | null {
  let w: Window | null = null;
  try {
    w = open("", "_blank", "popup");
    // textContent, not HTML: the holding screen has no markup to inject into.
    w!.document.body.textContent = HOLDING_TEXT;
    // The login page must not be able to reach back into this tab.
    w!.opener = null;
  } catch {
    // A throwing opener means blocked; a half-initialised popup is still a popup.
  }
  return w;
}

/** Closes the popup if it is still ours to close. */
export function closePopup(w: Window | null): void {
  w?.close();
}
