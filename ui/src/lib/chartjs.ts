// chart.js with only what the clinical line charts and the reports' bar charts use, registered
// once. Loaded on demand (a separate chunk) by the first chart shown, so that the app's start
// does not carry it.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Legend, Tooltip);

export { Chart };
