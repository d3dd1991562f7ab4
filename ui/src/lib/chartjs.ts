// chart.js with only what the clinical line charts use, registered once. Loaded on demand
// (a separate chunk) by the first chart shown, so that the app's start does not carry it.

import { CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

export { Chart };
