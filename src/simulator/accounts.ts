import type { TestAccount } from "./types.js";

/** The account used when `approve` is given none. */
export const DEFAULT_ACCOUNT: Required<TestAccount> = {
  email: "user@example.com",
  accountId: "3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a",
  planType: "plus",
  name: "Test User",
};

/** Fill the missing fields of `account` with the defaults. */
export function completeAccount(account: TestAccount = {}): Required<TestAccount> {
  return {
    email: account.email ?? DEFAULT_ACCOUNT.email,
    accountId: account.accountId ?? DEFAULT_ACCOUNT.accountId,
    planType: account.planType ?? DEFAULT_ACCOUNT.planType,
    name: account.name ?? DEFAULT_ACCOUNT.name,
  };
}
