// The dashboard page: fetches the JSON endpoints and draws Chart.js charts. window.dashboardReady is set when
// every chart is drawn (the browser test waits for it).
/* global Chart, document, window */
(function () {
  'use strict';
  const BAND_COLOURS = { A: '#2e844a', B: '#91db8b', C: '#fcc003', D: '#fe9339' };
  const STATUS_COLOURS = { ok: '#1b96ff', warn: '#fcc003', alert: '#ba0517', too_few_rows: '#c9c9c9' };
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const getJson = (path) =>
    fetch(path).then((r) => {
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      return r.json();
    });
  const canvas = (id) => document.getElementById(id);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function bands(d) {
    new Chart(canvas('chart-bands'), {
      type: 'bar',
      data: {
        labels: d.days,
        datasets: d.bands.map((b) => ({
          label: `Band ${b}`,
          data: d.counts[b],
          backgroundColor: BAND_COLOURS[b] || '#888',
        })),
      },
      options: {
        scales: {
          x: { stacked: true },
          y: { stacked: true, title: { display: true, text: 'leads scored' } },
        },
      },
    });
  }

  function calibration(d) {
    const regions = [...new Set(d.bins.map((b) => b.region))];
    const datasets = regions.map((region, i) => ({
      label: `observed (${region})`,
      data: d.bins.filter((b) => b.region === region).map((b) => ({ x: b.meanPredicted, y: b.observedRate })),
      borderColor: ['#0176d3', '#9050e9', '#06a59a'][i % 3],
      backgroundColor: ['#0176d3', '#9050e9', '#06a59a'][i % 3],
      showLine: true,
    }));
    datasets.push({
      label: 'perfect calibration',
      data: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
      borderColor: '#aaa',
      borderDash: [4, 4],
      pointRadius: 0,
      showLine: true,
    });
    new Chart(canvas('chart-calibration'), {
      type: 'scatter',
      data: { datasets },
      options: {
        scales: {
          x: { min: 0, max: 1, title: { display: true, text: 'mean predicted conversion' } },
          y: { min: 0, max: 1, title: { display: true, text: 'observed conversion' } },
        },
      },
    });
  }

  function drift(d) {
    const latest = d.latest[0] || { features: [], region: '-', day: '-' };
    const top = latest.features.slice(0, 15);
    new Chart(canvas('chart-drift'), {
      type: 'bar',
      data: {
        labels: top.map((f) => f.feature),
        datasets: [
          {
            label: `PSI, ${latest.region} ${latest.day} (warn 0.1, alert 0.25)`,
            data: top.map((f) => f.psi),
            backgroundColor: top.map((f) => STATUS_COLOURS[f.status] || '#888'),
          },
        ],
      },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, title: { display: true, text: 'PSI' } } },
      },
    });
  }

  function fallback(d) {
    new Chart(canvas('chart-fallback'), {
      type: 'line',
      data: {
        labels: d.days,
        datasets: [
          {
            label: 'rules fallback share',
            data: d.share,
            borderColor: '#ba0517',
            backgroundColor: '#ba0517',
            fill: false,
          },
          {
            label: 'threshold (5 %)',
            data: d.days.map(() => 0.05),
            borderColor: '#aaa',
            borderDash: [4, 4],
            pointRadius: 0,
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { callback: (v) => pct(v) } } } },
    });
  }

  function batch(d) {
    new Chart(canvas('chart-batch'), {
      type: 'bar',
      data: {
        labels: d.cycles.map((c) => `${c.startedAt.slice(5, 16).replace('T', ' ')} ${c.region}`),
        datasets: [
          {
            label: 'cycle duration (min); red = failed',
            data: d.cycles.map((c) => c.durationSeconds / 60),
            backgroundColor: d.cycles.map((c) => (c.ok ? '#0176d3' : '#ba0517')),
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'minutes' } } } },
    });
  }

  function experiments(d) {
    const root = document.getElementById('experiments');
    root.textContent = '';
    if (d.experiments.length === 0) root.textContent = 'No experiment.';
    d.experiments.forEach((e, i) => {
      const row = document.createElement('div');
      row.className = 'experiment';
      const info = document.createElement('div');
      const decisionClass = e.decision === 'keep running' ? 'keep' : e.decision;
      info.innerHTML = `<h3></h3><p class="mode"></p><p>decision: <span class="decision ${decisionClass}"></span></p><p class="reason"></p>`;
      info.querySelector('h3').textContent = e.id;
      info.querySelector('.mode').textContent =
        `${e.mode}, treatment share ${pct(e.share)}; units ${e.units.control}/${e.units.treatment}`;
      info.querySelector('.decision').textContent = e.decision;
      info.querySelector('.reason').textContent = e.reasons[0] || '';
      const chartBox = document.createElement('div');
      const c = document.createElement('canvas');
      c.id = `chart-experiment-${i}`;
      c.dataset.chart = 'experiment';
      chartBox.appendChild(c);
      const guards = document.createElement('div');
      for (const g of e.guardrails) {
        const badge = document.createElement('span');
        badge.className = `guardrail ${g.status}`;
        badge.textContent = `${g.name.replace(/_/g, ' ')}: ${g.status}`;
        badge.title = g.detail;
        guards.appendChild(badge);
      }
      if (e.srmMismatch !== null) {
        const srm = document.createElement('span');
        srm.className = `guardrail ${e.srmMismatch ? 'breached' : 'ok'}`;
        srm.textContent = `sample ratio: ${e.srmMismatch ? 'mismatch' : 'ok'}`;
        guards.appendChild(srm);
      }
      row.append(info, chartBox, guards);
      root.appendChild(row);
      const conv = e.conversion;
      new Chart(c, {
        type: 'bar',
        data: {
          labels: ['conversion effect (pts)'],
          datasets: [
            {
              label: conv
                ? `estimate ${(100 * conv.diff).toFixed(2)} pts, 95 % CI [${(100 * conv.ci[0]).toFixed(2)}, ${(100 * conv.ci[1]).toFixed(2)}]`
                : 'no estimate yet',
              data: conv ? [[100 * conv.ci[0], 100 * conv.ci[1]]] : [[0, 0]],
              backgroundColor:
                conv && conv.ci[0] > 0 ? '#91db8b' : conv && conv.ci[1] < 0 ? '#fe9339' : '#c9c9c9',
            },
          ],
        },
        options: {
          indexAxis: 'y',
          scales: { x: { title: { display: true, text: 'treatment − control, points' } } },
        },
      });
    });
  }

  Promise.all([
    getJson('api/score-bands').then(bands),
    getJson('api/calibration').then(calibration),
    getJson('api/drift').then(drift),
    getJson('api/fallback').then(fallback),
    getJson('api/batch-cycles').then(batch),
    getJson('api/experiments').then(experiments),
  ]).then(
    () => {
      document.getElementById('generated').textContent =
        `updated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
      window.dashboardReady = true;
    },
    (error) => {
      document.getElementById('generated').textContent = `failed: ${error.message}`;
      window.dashboardError = error.message;
    },
  );
})();
