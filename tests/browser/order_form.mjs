// The original order form in a real browser: two pages order 3 of the
// last 5 at the same moment; one must show "2 left", the other "not
// enough left". A double click on a third page must order once, and its
// "Cancel this order", clicked twice, must give the unit back once.
// Usage: node order_form.mjs URL ITEM DOUBLE_CLICK_ITEM ARTIFACT_DIR
import { chromium } from "playwright-core";

const [url, item, dblItem, artifacts] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
let failed = false;
function check(ok, what) {
  console.error(`${ok ? "ok" : "FAIL"}: ${what}`);
  if (!ok) failed = true;
}

async function openForm(name, orderItem, count) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.fill("#item", orderItem);
  await page.fill("#count", String(count));
  return page;
}

async function finalText(page) {
  await page.waitForFunction(
    () => ["accepted", "rejected", "error"].includes(document.getElementById("result").dataset.state),
    null, { timeout: 30000 });
  return page.textContent("#result");
}

try {
  const a = await openForm("a", item, 3);
  const b = await openForm("b", item, 3);
  const keyA = await a.getAttribute("#order", "data-key");
  const keyB = await b.getAttribute("#order", "data-key");
  check(keyA && keyB && keyA !== keyB, `each form render has its own key (${keyA}, ${keyB})`);
  await Promise.all([a.click("#submit"), b.click("#submit")]);
  const texts = await Promise.all([finalText(a), finalText(b)]);
  await a.screenshot({ path: `${artifacts}/form-a.png` });
  await b.screenshot({ path: `${artifacts}/form-b.png` });
  console.error(`page a: ${texts[0]} | page b: ${texts[1]}`);
  const left = `'${item}': 2 left`, none = `'${item}' not enough left`;
  check(texts.includes(left) && texts.includes(none), `one page shows "${left}", the other "${none}"`);
  const keyAfter = await a.getAttribute("#order", "data-key");
  check(keyAfter !== keyA, "a decided form gets a fresh key for the next order");

  const c = await openForm("c", dblItem, 1);
  await c.dblclick("#submit");
  const text = await finalText(c);
  await c.screenshot({ path: `${artifacts}/form-double-click.png` });
  check(text === `'${dblItem}': 9 left`, `double click ordered once: "${text}"`);

  // After an accepted order, its page offers to cancel it; a double click
  // gives the unit back once.
  check(await c.isVisible("#cancel"), "an accepted order shows \"Cancel this order\"");
  await c.dblclick("#cancel");
  await c.waitForFunction(
    () => ["cancelled", "error"].includes(document.getElementById("result").dataset.state), null, { timeout: 30000 });
  const cancelled = await c.textContent("#result");
  await c.screenshot({ path: `${artifacts}/form-cancelled.png` });
  check(cancelled === `'${dblItem}': order cancelled, 10 left`, `cancelled once: "${cancelled}"`);
  check(!(await c.isVisible("#cancel")), "the cancel button is gone after the cancel");
  check(!(await b.isVisible("#cancel")) || !(await a.isVisible("#cancel")), "a rejected order offers no cancel");
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
