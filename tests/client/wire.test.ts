import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { toError } from "../../src/client/errors.js";
import {
  hasDeviceCode,
  isAccount,
  isLoginAlreadyAuthenticated,
  isStatusAuthenticated,
  isStatusPending,
  isUsage,
} from "../../src/client/wire.js";

describe("narrowing server answers", () => {
  it("takes an account only when its email is a string or null", () => {
    expect(isAccount({ email: "user@example.com", planType: "plus" })).toBe(true);
    expect(isAccount({ email: null })).toBe(true);
    for (const bad of [{}, { email: 42 }, { email: { address: "x" } }, null, undefined, "user@example.com", []]) expect(isAccount(bad)).toBe(false);
  });

  it("signs in on /status only with an account, whatever else says ok", () => {
    expect(isStatusAuthenticated({ ok: true, account: { email: null } })).toBe(true);
    expect(isStatusAuthenticated({ ok: true })).toBe(false);
    expect(isStatusAuthenticated({ ok: true, account: "user@example.com" })).toBe(false);
    expect(isStatusAuthenticated(null)).toBe(false);
  });

  it("waits only on status pending", () => {
    expect(isStatusPending({ ok: false, status: "pending" })).toBe(true);
    for (const other of ["logged_out", "rotated", "expired", "denied", undefined]) expect(isStatusPending({ ok: false, status: other })).toBe(false);
  });

  it("counts as already signed in only on loggedIn true, not on a truthy lookalike", () => {
    expect(isLoginAlreadyAuthenticated({ ok: true, loggedIn: true })).toBe(true);
    for (const lookalike of ["true", 1, {}]) expect(isLoginAlreadyAuthenticated({ loggedIn: lookalike })).toBe(false);
  });

  it("takes a device code only with a string code and a positive numeric expiry", () => {
    const started = { loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-EFGH", expiresAt: 1_000 };
    expect(hasDeviceCode(started)).toBe(true);
    for (const bad of [{ userCode: 7 }, { expiresAt: "1000" }, { expiresAt: 0 }, { expiresAt: Number.NaN }, { userCode: undefined }]) {
      expect(hasDeviceCode({ ...started, ...bad })).toBe(false);
    }
  });

  it("passes usage on only with numeric input and output counts", () => {
    expect(isUsage({ inputTokens: 3, outputTokens: 4, cachedInputTokens: 1 })).toBe(true);
    expect(isUsage({ inputTokens: "3", outputTokens: 4 })).toBe(false);
    expect(isUsage({ outputTokens: 4 })).toBe(false);
  });

  it("builds an error from strings and numbers only: an object message or a string retryAfter is left out", () => {
    expect(toError({ code: "RATE_LIMITED", error: { message: "gateway" }, retryAfter: "30", resetsAt: "soon" }, "BAD_RESPONSE")).toEqual({
      code: "RATE_LIMITED",
      message: "RATE_LIMITED",
      resetsAt: undefined,
      retryAfter: undefined,
    });
    expect(toError("Bad gateway", "BAD_RESPONSE")).toMatchObject({ code: "BAD_RESPONSE", message: "BAD_RESPONSE" });
  });
});

/**
 * Type-checks the browser client against a copy of contract.ts in which one
 * property is renamed, and returns the errors reported in src/client.
 */
function clientErrorsWithRenamed(path: string): string[] {
  const contractFile = resolve("src/contract.ts");
  const original = readFileSync(contractFile, "utf8");
  let text = original;
  if (path !== "") {
    const source = ts.createSourceFile(contractFile, original, ts.ScriptTarget.ES2022, true);
    const [typeName, ...propertyPath] = path.split(".");
    let members: ts.NodeArray<ts.TypeElement> | undefined;
    source.forEachChild((node) => {
      if (ts.isInterfaceDeclaration(node) && node.name.text === typeName) members = node.members;
    });
    let property: ts.PropertySignature | undefined;
    for (const name of propertyPath) {
      property = members?.find((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.name.getText(source) === name);
      members = property?.type && ts.isTypeLiteralNode(property.type) ? property.type.members : undefined;
    }
    if (!property) throw new Error(`no property ${path} in contract.ts`);
    const at = property.name.getStart(source);
    text = original.slice(0, at) + "renamed_" + original.slice(at);
  }
  const options: ts.CompilerOptions = { ...parsedConfig.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    if (resolve(fileName) === contractFile) return ts.createSourceFile(fileName, text, languageVersion, true);
    const cached = sourceFiles.get(fileName);
    if (cached) return cached;
    const file = getSourceFile(fileName, languageVersion, ...rest);
    if (file) sourceFiles.set(fileName, file);
    return file;
  };
  const program = ts.createProgram({ rootNames: [resolve("src/client/index.ts")], options, host });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && resolve(d.file.fileName).startsWith(resolve("src/client")))
    .map((d) => `${d.file!.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}
const parsedConfig = ts.parseJsonConfigFileContent(ts.readConfigFile("tsconfig.json", ts.sys.readFile).config, ts.sys, ".");
// The lib files are parsed once for every compilation.
const sourceFiles = new Map<string, ts.SourceFile>();

describe("the client's reading of the contract", () => {
  it("compiles against contract.ts as it is", () => {
    expect(clientErrorsWithRenamed("")).toEqual([]);
  }, 60_000);

  // Every field the client reads from a server answer: renaming one on the wire must break the client's build.
  it.each([
    "Account.email",
    "StatusAuthenticated.account",
    "StatusPending.status",
    "LoginAlreadyAuthenticated.loggedIn",
    "LoginStarted.loginUrl",
    "LoginStarted.userCode",
    "LoginStarted.expiresAt",
    "ErrorBody.code",
    "ErrorBody.error",
    "ErrorEvent.code",
    "ErrorEvent.error",
    // Shared by ErrorBody and ErrorEvent.
    "ErrorDetails.resetsAt",
    "ErrorDetails.retryAfter",
    "AssistantTextEvent.type",
    "AssistantTextEvent.mode",
    "AssistantTextEvent.text",
    "DoneEvent.type",
    "DoneEvent.result",
    "DoneEvent.result.text",
    "DoneEvent.result.usage",
    "Usage.inputTokens",
    "Usage.outputTokens",
  ])("fails to compile when the contract renames %s", (path) => {
    expect(clientErrorsWithRenamed(path).length).toBeGreaterThan(0);
  }, 60_000);
});
