import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/**
 * The capacity chart, rendered here without a browser: one panel per metric
 * (history and the fitted trend out to the forecast horizon), drawn by
 * vega-lite → vega's SVG renderer → resvg's PNG encoder. The panels are
 * stacked into one SVG of exactly `width` × `height`, so the PNG has that size.
 */
export interface ChartPanel {
  title: string;
  unit: string;
  /** [epoch ms, value] */
  history: Array<[number, number]>;
  /** The trend line: [epoch ms, value] from the first point to the horizon. */
  trend: Array<[number, number]>;
}

async function panelSvg(panel: ChartPanel, width: number, height: number): Promise<string> {
  const values = [
    ...panel.history.map(([t, v]) => ({ t, v, series: 'history' })),
    ...panel.trend.map(([t, v]) => ({ t, v, series: 'trend (forecast)' })),
  ];
  const spec = vegaLite.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    title: { text: `${panel.title} (${panel.unit})`, fontSize: 12, anchor: 'start' },
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 't', type: 'temporal', title: null },
      y: { field: 'v', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', legend: { orient: 'top-right', title: null } },
      strokeDash: { field: 'series', type: 'nominal', legend: { orient: 'top-right', title: null } },
    },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One PNG, `width` × `height` pixels, panels stacked top to bottom. */
export async function renderCapacityChart(panels: ChartPanel[], width: number, height: number): Promise<Buffer> {
  const heights = panels.map((_, i) => (i < panels.length - 1 ? Math.floor(height / panels.length) : height - Math.floor(height / panels.length) * (panels.length - 1)));
  let y = 0;
  const parts: string[] = [];
  for (const [i, panel] of panels.entries()) {
    const svg = (await panelSvg(panel, width, heights[i]!)).replace(/^<\?xml[^>]*>\s*/, '');
    // A nested <svg> placed at its offset: resvg draws it like any group.
    parts.push(svg.replace(/^<svg /, `<svg x="0" y="${y}" `));
    y += heights[i]!;
  }
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`;
  const png = new Resvg(doc, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return Buffer.from(png);
}

/** Width and height from a PNG's IHDR, or undefined when `bytes` is not a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature) || bytes.toString('ascii', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
