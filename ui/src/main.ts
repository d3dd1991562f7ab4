import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { getLocale } from './lib/i18n';

document.documentElement.lang = getLocale();

const target = document.getElementById('app');
if (!target) throw new Error('HMS: #app is missing from index.html');

export default mount(App, { target });
