// The shop page at `/`: one self-contained HTML document (no external scripts, fonts or
// images), talking to the JSON API. A token, when the server wants one, is read from the
// page's #token=... fragment, which browsers never send to the server.
#include "deepcart/serve/server.h"

namespace deepcart::serve {

const std::string& shop_page() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>deepcart shop</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{background:#1d2939;color:#fff;padding:.8em 1.5em}header h1{margin:0;font-size:1.3em}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(26em,1fr));gap:1em;padding:1em}
section{background:#fff;border-radius:8px;padding:1em;box-shadow:0 1px 3px #0002}
h2{margin-top:0;font-size:1.05em}.row{display:flex;gap:.5em;flex-wrap:wrap;align-items:center}
.card{border:1px solid #ddd;border-radius:6px;padding:.4em;width:7.5em;font-size:.8em;cursor:pointer;background:#fff}
.card img{width:100%;image-rendering:pixelated;background:#eee}.muted{color:#667085;font-size:.85em}
.pos{background:#d1fadf}.neg{background:#fee4e2}.tok{padding:0 .1em;border-radius:3px}
textarea,input{width:100%;box-sizing:border-box;font:inherit;padding:.4em}button{font:inherit;padding:.3em .9em;margin-top:.4em}
.error{color:#b42318}
</style></head><body>
<header><h1>deepcart shop</h1><div class="muted" id="models">loading models...</div></header>
<main>
<section id="panel-recommend"><h2>1. Pick a customer</h2>
<div class="row"><input id="user" placeholder="customer id, e.g. u00001" style="width:14em"><button id="recommend-go">Recommend</button></div>
<div id="recommend-out" class="row"></div></section>
<section id="panel-product"><h2>2. Click a product</h2>
<div class="muted">Catalogue products: click one to see its predicted category, attributes and look-alikes.</div>
<div id="catalogue" class="row"></div><div id="product-out"></div></section>
<section id="panel-review"><h2>3. Write a review</h2>
<textarea id="review" rows="3">Love this dress, the fabric is soft and it fits perfectly.</textarea>
<button id="review-go">Analyse</button><div id="review-out"></div></section>
<section id="panel-question"><h2>4. Ask the shop a question</h2>
<input id="question" value="where is my order?"><button id="question-go">Ask</button><div id="question-out"></div></section>
</main>
<script>
const token = (location.hash.match(/token=([^&]+)/) || [])[1];
function headers(extra) { const h = Object.assign({}, extra || {}); if (token) h.Authorization = 'Bearer ' + token; return h; }
async function api(path, body) {
  const r = await fetch(path, body === undefined ? {headers: headers()} :
    {method: 'POST', headers: headers({'Content-Type': 'application/json'}), body: JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
  return j;
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c])); }
function fail(id, e) { document.getElementById(id).innerHTML = '<p class="error">' + esc(e.message) + '</p>'; }
function imageUrl(id) { return '/v1/images/catalogue?id=' + encodeURIComponent(id) + (token ? '&token=' + token : ''); }
let kinds = {};
async function loadModels() {
  try {
    const j = await api('/v1/models');
    j.models.forEach(m => { kinds[m.task] = m; });
    document.getElementById('models').textContent = j.models.map(m => m.name + ' (' + m.task + ', ' + m.architecture + ')').join(' · ') || 'no models';
    if (kinds['image-index']) loadCatalogue();
  } catch (e) { document.getElementById('models').textContent = e.message; }
}
async function loadCatalogue() {
  const j = await api('/v1/images/catalogue/list?n=12');
  document.getElementById('catalogue').innerHTML = j.items.map(it =>
    '<div class="card product" data-id="' + esc(it.id) + '"><img src="' + imageUrl(it.id) + '" alt=""><div>' + esc(it.category) + '</div></div>').join('');
  document.querySelectorAll('#catalogue .product').forEach(el => el.onclick = () => showProduct(el.dataset.id));
}
async function imageBase64(id) {
  const r = await fetch(imageUrl(id), {headers: headers()});
  const bytes = new Uint8Array(await r.arrayBuffer());
  let s = ''; bytes.forEach(b => s += String.fromCharCode(b));
  return btoa(s);
}
async function showProduct(id) {
  const out = document.getElementById('product-out');
  out.innerHTML = '<p class="muted">asking the models...</p>';
  try {
    const image = await imageBase64(id);
    const sheet = (await api('/v1/images/classify', {image})).results[0];
    let html = '<p><b>' + esc(sheet.category) + '</b> ' + (100 * sheet.confidence).toFixed(1) + '% &middot; ' +
      sheet.top.slice(1).map(t => esc(t.category) + ' ' + (100 * t.probability).toFixed(1) + '%').join(', ') + '</p>';
    if (sheet.attributes && sheet.attributes.length) html += '<p>attributes: ' + sheet.attributes.map(a => esc(a.name)).join(', ') + '</p>';
    const alike = (await api('/v1/images/similar', {image, k: 4})).results[0];
    html += '<div class="row" id="lookalikes">' + alike.map(a => '<div class="card"><img src="' + imageUrl(a.id) + '" alt=""><div>' +
      esc(a.category) + ' ' + a.similarity.toFixed(3) + '</div></div>').join('') + '</div>';
    out.innerHTML = html;
  } catch (e) { fail('product-out', e); }
}
document.getElementById('recommend-go').onclick = async () => {
  try {
    const j = await api('/v1/recommend', {user: document.getElementById('user').value, k: 6});
    document.getElementById('recommend-out').innerHTML = (j.popular ? '<p class="muted">new customer: our best sellers</p>' : '') +
      j.items.map(it => '<div class="card rec-item">' + (it.image ? '<img src="' + it.image + (token ? '?token=' + token : '') + '" alt="">' : '') +
        '<b>' + esc(it.item) + '</b><div class="muted">' +
        (it.because && it.because.length ? 'because you bought ' + it.because.map(esc).join(' and ') : 'popular') + '</div></div>').join('');
  } catch (e) { fail('recommend-out', e); }
};
document.getElementById('review-go').onclick = async () => {
  try {
    const r = (await api('/v1/reviews/analyze', {texts: [document.getElementById('review').value], explain: true})).results[0];
    const scale = Math.max(1e-9, ...r.tokens.map(t => Math.abs(t.score)));
    const tokens = r.tokens.map(t => { const a = Math.min(1, Math.abs(t.score) / scale);
      const colour = t.score >= 0 ? 'rgba(26,127,55,' + a * 0.5 + ')' : 'rgba(180,35,24,' + a * 0.5 + ')';
      return '<span class="tok" style="background:' + colour + '">' + esc(t.token) + '</span>'; }).join(' ');
    document.getElementById('review-out').innerHTML = '<p id="sentiment"><b>' + esc(r.label_name || r.label) + '</b> ' + (100 * r.probability).toFixed(1) + '%' +
      (r.stars !== undefined ? ' &middot; ' + r.stars + ' stars (expected ' + r.expected_stars.toFixed(2) + ')' : '') + '</p><p>' + tokens + '</p>';
  } catch (e) { fail('review-out', e); }
};
document.getElementById('question-go').onclick = async () => {
  try {
    const a = await api('/v1/questions/answer', {text: document.getElementById('question').value});
    document.getElementById('question-out').innerHTML = a.sure ?
      '<p id="intent"><b>' + esc(a.intent) + '</b> ' + (100 * a.confidence).toFixed(0) + '%</p><p>' + esc(a.answer) + '</p>' :
      '<p id="intent">Not sure (' + (100 * a.confidence).toFixed(0) + '%). Did you mean ' + a.closest.map(c => esc(c.intent)).join(' or ') + '?</p>';
  } catch (e) { fail('question-out', e); }
};
loadModels();
</script></body></html>
)HTML";
  return page;
}

}  // namespace deepcart::serve
