/** Shown in the popup until the login URL is known. A constant: no server data ever goes in. */
export const HOLDING_TEXT = "Opening ChatGPT login…";

/**
 * Opens a blank login popup; must run synchronously inside the click handler.
 * Returns null when the browser blocked it.
 * @example const popup = openLoginPopup(); // in onClick, before any await
 */
export function openLoginPopup(): Window | null {
  let popup: Window | null = null;
  try {
    popup = open("", "_blank", "popup");
    // textContent, not HTML: the holding screen has no markup to inject into.
    popup!.document.body.textContent = HOLDING_TEXT;
    // The login page must not be able to reach back into this tab.
    popup!.opener = null;
  } catch {
    // A throwing opener means blocked; a half-initialised popup is still a popup.
  }
  return popup;
}

/**
 * Closes the popup if there is one.
 * @example closePopup(popup);
 */
export function closePopup(popup: Window | null): void {
  popup?.close();
}
