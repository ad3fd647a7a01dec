// Opens a restrack-report HTML page in headless chromium (Debian's, driven by
// playwright-core) and prints what a person would see, one fact per line, for
// report_tool_test.cc to compare exactly:
//   node html_check.mjs NODE_TOOLS_DIR PAGE.html SCREENSHOT.png
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [toolsDir, page, screenshotPath] = process.argv.slice(2);
const require = createRequire(toolsDir + '/');
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // The page must need nothing from the network.
  const requests = [];
  context.on('request', (request) => {
    if (!request.url().startsWith('file:')) requests.push(request.url());
  });
  const tab = await context.newPage();
  tab.setDefaultTimeout(10000);
  const errors = [];
  tab.on('pageerror', (error) => errors.push(error.message));
  await tab.goto(pathToFileURL(page).href);

  const shot = await tab.screenshot({ path: screenshotPath, fullPage: false });
  // Count the distinct colours of the screenshot in the browser itself: a blank page has
  // one.
  const colours = await tab.evaluate(async (base64) => {
    const image = new Image();
    image.src = 'data:image/png;base64,' + base64;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context2d = canvas.getContext('2d');
    context2d.drawImage(image, 0, 0);
    const data = context2d.getImageData(0, 0, image.width, image.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4) {
      seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return seen.size;
  }, shot.toString('base64'));
  console.log('screenshot has more than 10 colours: ' + (colours > 10));
  console.log('title: ' + (await tab.title()));
  console.log('summary: ' + (await tab.locator('p.summary').innerText()));
  const rows = tab.locator('#sites tbody tr.site');
  const count = await rows.count();
  console.log('rows: ' + count);
  for (let i = 0; i < count; i++) {
    const cells = await rows.nth(i).locator(':scope > td').allInnerTexts();
    // The last cell holds the collapsed trace; its visible text is the site label.
    console.log('row: ' + cells.map((c) => c.split('\n')[0]).join(' | '));
  }
  const firstFrames = rows.nth(0).locator('ol.frames').first().locator('li');
  console.log('frames visible before expanding: ' + (await firstFrames.first().isVisible()));
  await rows.nth(0).locator('summary').click();
  console.log('frames visible after expanding: ' + (await firstFrames.first().isVisible()));
  for (const frame of await firstFrames.allInnerTexts()) console.log('frame: ' + frame);

  await tab.selectOption('#kind-filter', 'handle');
  console.log('after kind=handle: ' + (await tab.locator('#shown').innerText()));
  await tab.selectOption('#kind-filter', '');
  await tab.selectOption('#test-filter', 'Parser.ReadsBody');
  console.log('after test=Parser.ReadsBody: ' + (await tab.locator('#shown').innerText()));
  await tab.selectOption('#test-filter', '');
  await tab.locator('#sites thead th', { hasText: 'count' }).click();  // ascending
  const firstAfterSort = await rows.nth(0).locator(':scope > td').first().innerText();
  console.log('first row # after sorting by count ascending: ' + firstAfterSort);
  console.log('script errors: ' + errors.length);
  console.log('network requests: ' + requests.length);
} finally {
  await browser.close();
}
