/**
 * Which charting library the dashboard ships: uPlot, ECharts and Chart.js
 * compared by the size of their browser bundles and by the time each takes to
 * draw one line chart of 100,000 points in headless Chromium (Debian's
 * `chromium`), rounds taking turns, medians printed. Not part of `npm run
 * bench`: run when the choice is in question.
 *
 *   npx tsx bench/chart-libraries.ts [points] [rounds]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

/** A file of an installed package (their `exports` hide dist/ from require.resolve). */
const packageFile = (path: string) => fileURLToPath(new URL(`../node_modules/${path}`, import.meta.url));
const POINTS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);

interface Library {
  readonly name: string;
  readonly file: string;
  /** Draws `xs`/`ys` into `#chart` (800 × 300) and resolves once the frame is painted. */
  readonly draw: string;
}

const LIBRARIES: readonly Library[] = [
  {
    name: 'uPlot',
    file: packageFile('uplot/dist/uPlot.iife.min.js'),
    draw: `new uPlot({ width: 800, height: 300, series: [{}, { stroke: 'blue' }] }, [xs, ys], chart);`,
  },
  {
    name: 'ECharts',
    file: packageFile('echarts/dist/echarts.min.js'),
    draw: `echarts.init(chart, null, { width: 800, height: 300 }).setOption({ animation: false,
      xAxis: { type: 'value', min: 'dataMin', max: 'dataMax' }, yAxis: { type: 'value' },
      series: [{ type: 'line', showSymbol: false, data: xs.map((x, i) => [x, ys[i]]) }] });`,
  },
  {
    name: 'Chart.js',
    file: packageFile('chart.js/dist/chart.umd.min.js'),
    draw: `const canvas = document.createElement('canvas'); canvas.width = 800; canvas.height = 300; chart.append(canvas);
      new Chart(canvas, { type: 'line', options: { animation: false, responsive: false, parsing: false, normalized: true,
        scales: { x: { type: 'linear' } }, elements: { point: { radius: 0 } } },
        data: { datasets: [{ data: xs.map((x, i) => ({ x, y: ys[i] })), borderWidth: 1 }] } });`,
  },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const timings = new Map<string, number[]>(LIBRARIES.map((library) => [library.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const library of round % 2 === 0 ? LIBRARIES : [...LIBRARIES].reverse()) {
    const page = await browser.newPage();
    await page.setContent('<div id="chart"></div>');
    await page.addScriptTag({ content: readFileSync(library.file, 'utf8') });
    const millis = await page.evaluate(
      `(async () => {
        const chart = document.getElementById('chart');
        const xs = Array.from({ length: ${POINTS} }, (_, i) => i);
        const ys = xs.map((i) => Math.sin(i / 500) * 100 + (i % 97));
        const start = performance.now();
        ${library.draw}
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        return performance.now() - start;
      })()`,
    );
    timings.get(library.name)!.push(millis as number);
    await page.close();
  }
}
await browser.close();

console.log(
  `| library | version | bundle (min) | gzip | draw ${POINTS.toLocaleString('en-US')} points (median of ${ROUNDS}) |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const library of LIBRARIES) {
  const bytes = readFileSync(library.file);
  const pkg = library.file.replace(/\/dist\/.*$/, '/package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  console.log(
    `| ${library.name} | ${version} | ${(bytes.length / 1024).toFixed(0)} KiB | ${(gzipSync(bytes).length / 1024).toFixed(0)} KiB | ${median(timings.get(library.name)!).toFixed(0)} ms |`,
  );
}
