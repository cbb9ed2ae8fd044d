import { describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { signIn } from '../support/gateway-form.js';
import { startStack, STACK_USERS } from '../support/stack.js';

interface Ready {
  status: string;
  aaa: { method: string; usable: boolean; servers: Array<{ name: string; state: string; deadUntil?: string; lastError?: string }> };
  netbox: { ok: boolean; version?: string; error?: string };
}

async function ready(url: string): Promise<{ status: number; body: Ready; text: string }> {
  const response = await fetch(`${url}/-/ready`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Ready, text };
}

describe('/-/ready', () => {
  it('is ready when an AAA server is usable and NetBox answers, and tells no secrets', async () => {
    const stack = await startStack();
    try {
      const { status, body, text } = await ready(stack.gateway.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ready', aaa: { method: 'radius', usable: true }, netbox: { ok: true, version: '4.6.8' } });
      expect(body.aaa.servers).toHaveLength(1);
      for (const secret of [stack.config.netbox.token, stack.config.session.secret, 'stack-shared-secret']) expect(text).not.toContain(secret);
    } finally {
      await stack.close();
    }
  });

  it('reports a dead AAA server with its hold-down and error, and is not ready when none is usable', async () => {
    const stack = await startStack({ env: { AAA_DEAD_TIME: '60s' } });
    try {
      stack.radius.faults.blackHole = true;
      expect((await signIn(new CookieBrowser(stack.gateway.url), 'bob', STACK_USERS.bob!.password)).status).toBe(503);
      const { status, body } = await ready(stack.gateway.url);
      expect(status).toBe(503);
      expect(body.aaa.usable).toBe(false);
      expect(body.aaa.servers[0]).toMatchObject({ state: 'dead', lastError: expect.any(String) });
      expect(Date.parse(body.aaa.servers[0]!.deadUntil!)).toBeGreaterThan(Date.now() + 50_000);
    } finally {
      await stack.close();
    }
  });

  it('is not ready while NetBox does not answer', async () => {
    const stack = await startStack();
    try {
      stack.netbox.state.fail('unavailable');
      const { status, body } = await ready(stack.gateway.url);
      expect(status).toBe(503);
      expect(body.netbox).toMatchObject({ ok: false, error: expect.any(String) });
      expect(body.aaa.usable).toBe(true);
    } finally {
      await stack.close();
    }
  });
});
