//! The page shell shared by the index and the layer pages: head, stylesheet, script.
//!
//! Pages carry a Content-Security-Policy that forbids every external resource (no network,
//! no fonts, no images other than `data:`), so a report that opens correctly is guaranteed to
//! be self-contained.

use crate::markup::push_escaped;

/// Forbids loading anything; allows the page's own inline style and script.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; base-uri 'none'; form-action 'none'";

const CSS: &str = r#"
:root{--fg:#1d232a;--muted:#5b6670;--line:#d9dee3;--bg:#fff;--soft:#f4f6f8;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{position:sticky;top:0;z-index:2;background:#1d232a;color:#fff;padding:6px 16px;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
header.top a{color:#cfe0ff;text-decoration:none}header.top a:hover{text-decoration:underline}
header.top .here{color:#fff;font-weight:600}
main{padding:12px 16px 40px;max-width:1400px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:22px 0 8px}
.sub{color:var(--muted);margin:0 0 12px}
table{border-collapse:collapse}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.layers td:first-child{white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.controls{position:sticky;top:34px;z-index:1;background:var(--bg);padding:8px 0;display:flex;gap:12px;flex-wrap:wrap;align-items:center;border-bottom:1px solid var(--line)}
.controls input[type=search]{width:min(420px,90vw);padding:5px 8px;font:inherit;border:1px solid #aab4be;border-radius:4px}
.controls button{font:inherit;padding:3px 10px}
#count{color:var(--muted)}
details.neuron{border:1px solid var(--line);border-radius:6px;margin:8px 0;content-visibility:auto;contain-intrinsic-size:auto 44px}
details.neuron[open]{contain-intrinsic-size:auto 600px}
details.neuron>summary{cursor:pointer;padding:6px 10px;display:flex;gap:14px;align-items:center;flex-wrap:wrap;background:var(--soft);border-radius:6px}
details.neuron>summary .nid{font-weight:600;min-width:7em}
.meta{color:var(--muted)}
.tfs{font-weight:600;color:#7a3d00}
.body{padding:6px 10px 10px;overflow-x:auto}
[hidden]{display:none!important}
.crow{display:grid;grid-template-columns:8.5em 3em 4.5em 5em 5em minmax(0,1fr);gap:0 10px;padding:4px 0;border-bottom:1px solid var(--line);align-items:start}
.crms.routes .crow{grid-template-columns:8.5em 3em 5.5em 4.5em 5em 5em minmax(0,1fr)}
.crow.head{font-weight:600;background:var(--soft);padding:3px 0}
.crow.crm{content-visibility:auto;contain-intrinsic-size:auto 360px}
.crow .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.crow>span:first-child{padding-left:4px}
.scroll{overflow-x:auto;max-width:100%}
.segment{margin:6px 0 10px 0;padding-left:8px;border-left:3px solid var(--line)}
.seg-head{color:var(--muted);font-size:12px}
table.matches{font-size:12px;margin-top:2px}
table.matches td,table.matches th{padding:1px 6px}
.none{color:var(--muted);font-style:italic}
svg.logo{display:block}
.overview{margin:8px 0 16px}
.orow{display:grid;grid-template-columns:8em 3.5em 5.5em minmax(14em,22em) 1fr minmax(3em,auto);gap:0 10px;align-items:center;padding:2px 4px;border-bottom:1px solid var(--line);content-visibility:auto;contain-intrinsic-size:auto 32px}
.orow.head{font-weight:600;background:var(--soft);content-visibility:visible}
.orow .num{text-align:right;font-variant-numeric:tabular-nums}
.orow .tfs{font-weight:400;color:#7a3d00}
.pages a{margin-right:4px}
footer{color:var(--muted);font-size:12px;padding:8px 16px 20px}
"#;

/// The layer pages' behaviour: the filter box and "only matched" (over the overview's neuron
/// rows and the detail pages' CRM rows; a neuron section whose CRMs are all filtered out is
/// hidden), expand/collapse, and opening a collapsed neuron that a `#n<k>` link points at.
/// Vanilla JavaScript, no dependencies; the pages are complete without it.
const LAYER_JS: &str = r#"
(function(){
"use strict";
function all(sel){return Array.prototype.slice.call(document.querySelectorAll(sel));}
var rows=all(".orow[data-q]"),crms=all(".crm[data-q]"),secs=all("details.neuron");
var box=document.getElementById("filter"),only=document.getElementById("matched-only"),count=document.getElementById("count"),pending=0;
function show(e,terms){if(only.checked&&!e.hasAttribute("data-matched"))return false;var q=e.getAttribute("data-q");
for(var i=0;i<terms.length;i++){var t=terms[i];if(/^n\d+$/.test(t)?e.getAttribute("data-neuron")!==t.slice(1):q.indexOf(t)<0)return false;}return true;}
function apply(){pending=0;var terms=box.value.toLowerCase().split(/\s+/).filter(Boolean),nr=0,nc=0;
rows.forEach(function(e){var ok=show(e,terms);e.hidden=!ok;if(ok)nr++;});
crms.forEach(function(e){var ok=show(e,terms);e.hidden=!ok;if(ok)nc++;});
secs.forEach(function(d){d.hidden=!d.querySelector(".crm:not([hidden])");});
count.textContent=rows.length?nr+" of "+rows.length+" neurons":nc+" of "+crms.length+" CRMs";}
if(box&&only&&count){box.addEventListener("input",function(){if(!pending)pending=requestAnimationFrame(apply);});only.addEventListener("change",apply);apply();}
var ex=document.getElementById("expand"),co=document.getElementById("collapse");
if(ex)ex.addEventListener("click",function(){secs.forEach(function(d){if(!d.hidden)d.open=true;});});
if(co)co.addEventListener("click",function(){secs.forEach(function(d){d.open=false;});});
function hash(){var d=location.hash.length>1&&document.getElementById(location.hash.slice(1));
if(d&&d.tagName==="DETAILS"&&!d.open){d.open=true;d.scrollIntoView();}}
window.addEventListener("hashchange",hash);hash();
})();
"#;

/// Which script a page needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    None,
    Layer,
}

/// Start a page: doctype, head with the stylesheet, and the top navigation bar.
/// `nav` is `(href, label, current)`.
pub(crate) fn open(out: &mut String, title: &str, nav: &[(String, String, bool)]) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.push_str(CSP);
    out.push_str("\"><meta name=\"generator\" content=\"neuronmotif-report ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\"><title>");
    push_escaped(out, title);
    out.push_str("</title><style>");
    out.push_str(CSS);
    out.push_str("</style></head>\n<body><header class=\"top\">");
    for (href, label, here) in nav {
        if *here {
            out.push_str("<span class=\"here\">");
            push_escaped(out, label);
            out.push_str("</span>");
        } else {
            out.push_str("<a href=\"");
            push_escaped(out, href);
            out.push_str("\">");
            push_escaped(out, label);
            out.push_str("</a>");
        }
    }
    out.push_str("</header>\n<main>");
}

/// End a page: footer and script.
pub(crate) fn close(out: &mut String, script: Script) {
    out.push_str("</main>\n<footer>Written by neuronmotif-report ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(". Self-contained: this folder opens offline.</footer>\n");
    if script == Script::Layer {
        out.push_str("<script>");
        out.push_str(LAYER_JS);
        out.push_str("</script>\n");
    }
    out.push_str("</body></html>\n");
}
