/**
 * Every visible string of the default UI. Error codes map to their sentence;
 * an error without an entry shows the server's message.
 */
export const DEFAULT_LABELS = {
  login: "Login with ChatGPT",
  resuming: "Checking your session…",
  connecting: "Connecting…",
  enterCode: "Enter this code on the ChatGPT login page:",
  copy: "Copy code",
  copied: "Copied",
  expiresIn: "Expires in",
  startOver: "Start over",
  popupBlocked: "The login window was blocked.",
  openLogin: "Open the login page",
  signedIn: "Signed in as",
  disconnect: "Disconnect",
  prompt: "Prompt",
  run: "Run",
  stop: "Stop",
  resetsAt: "It resets at",
  loggedOut: "Signed out.",
  DEVICE_AUTH_NOT_ENABLED:
    "Device code login is off for this account. Enable device code authorization in ChatGPT → Settings → Security & Login, then try again.",
  UPSTREAM_UNAVAILABLE: "ChatGPT could not be reached. Try again in a moment.",
  UPSTREAM_TIMEOUT: "ChatGPT could not be reached. Try again in a moment.",
  STORE_UNAVAILABLE: "The server is busy. Try again in a moment.",
  NETWORK: "The server could not be reached. Check your connection.",
  STATUS_FAILED: "The server could not be reached. Check your connection.",
  EXPIRED: "The code expired. Start over to get a new one.",
  LOGIN_EXPIRED: "The code expired. Start over to get a new one.",
  LOGIN_DENIED: "The login was denied.",
  USAGE_LIMIT: "Usage limit reached.",
  RATE_LIMITED: "Too many requests. Wait a moment.",
  RUN_IN_PROGRESS: "A run is already in progress.",
};

export type CodexAuthLabels = Record<keyof typeof DEFAULT_LABELS, string>;
