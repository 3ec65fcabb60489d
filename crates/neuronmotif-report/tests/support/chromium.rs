//! Driving a headless Chromium from tests: find it, load a page, dump the DOM, take a
//! screenshot. No DevTools client: only the command-line switches headless Chromium has.
//!
//! Checks run inside the page: [`probe_copy`] writes a copy of a page with a small script
//! injected first in `<head>`. The script records every error the page could raise (uncaught
//! exceptions, failed resource loads, Content-Security-Policy violations, unhandled promise
//! rejections, `console.error`/`console.warn`), and after the `load` event it opens every
//! collapsed section, measures every logo and glyph, drives the filter box, and writes one
//! JSON object into `<pre id="nm-probe">`. Chromium's `--dump-dom` then prints the DOM, and the test
//! reads the JSON back. `--virtual-time-budget` lets the page's timers run before the dump.
//! In addition, Chromium runs with `--enable-logging=stderr --v=0`, which prints every console
//! message of the page as a `CONSOLE` line; the page itself never logs, so any such line fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `/usr/bin/chromium`, else `chromium` or `chromium-browser` on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The output of one Chromium run.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
}

/// A headless Chromium with a private, temporary profile.
pub struct Chromium {
    exe: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    pub fn new(exe: PathBuf) -> Chromium {
        Chromium {
            exe,
            profile: tempfile::tempdir().expect("temporary profile directory"),
        }
    }

    /// Run Chromium on `page` with the standard switches plus `extra`; kill it after 180 s.
    pub fn run(&self, page: &Path, extra: &[String]) -> Result<Run, String> {
        let url = format!(
            "file://{}",
            page.canonicalize().map_err(|e| e.to_string())?.display()
        );
        let mut cmd = Command::new(&self.exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        // Read the pipes on threads so a chatty browser cannot block on a full pipe.
        let mut out_pipe = child.stdout.take().ok_or("no stdout")?;
        let mut err_pipe = child.stderr.take().ok_or("no stderr")?;
        let out_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
            s
        });
        let err_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
            s
        });
        let deadline = start + Duration::from_secs(180);
        loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(_) => break,
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("chromium did not finish within 180 s".into());
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let wall = start.elapsed();
        Ok(Run {
            stdout: out_t.join().unwrap_or_default(),
            stderr: err_t.join().unwrap_or_default(),
            wall,
        })
    }

    /// `--dump-dom`, optionally letting page timers run for `budget_ms` of virtual time.
    pub fn dump_dom(&self, page: &Path, budget_ms: Option<u32>) -> Result<Run, String> {
        let mut extra = vec!["--dump-dom".to_owned()];
        if let Some(b) = budget_ms {
            extra.push(format!("--virtual-time-budget={b}"));
        }
        self.run(page, &extra)
    }

    /// A PNG of `page` at `width` x `height`.
    pub fn screenshot(
        &self,
        page: &Path,
        png: &Path,
        width: u32,
        height: u32,
    ) -> Result<Run, String> {
        if let Some(dir) = png.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let abs = std::path::absolute(png).map_err(|e| e.to_string())?;
        let run = self.run(
            page,
            &[
                format!("--screenshot={}", abs.display()),
                format!("--window-size={width},{height}"),
                "--hide-scrollbars".to_owned(),
                // Let deferred work and fonts settle before the picture.
                "--virtual-time-budget=5000".to_owned(),
            ],
        )?;
        if !abs.is_file() {
            return Err(format!("no screenshot written; stderr:\n{}", run.stderr));
        }
        Ok(run)
    }
}

/// The `CONSOLE` lines of Chromium's log: messages the page wrote to its console.
pub fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// The probe script (see the module docs). `OPEN_ALL` opens every `<details>`.
const PROBE: &str = r#"<script>
(function(){
"use strict";
var errors=[];
window.__nmErrors=errors;
window.addEventListener("error",function(e){var t=e.target;errors.push(t&&t!==window&&(t.src||t.href)?"resource failed: "+(t.src||t.href):"error: "+e.message);},true);
window.addEventListener("unhandledrejection",function(e){errors.push("unhandled rejection: "+e.reason);});
document.addEventListener("securitypolicyviolation",function(e){errors.push("CSP violation: "+e.violatedDirective+" "+e.blockedURI);});
["error","warn"].forEach(function(k){var o=console[k];console[k]=function(){errors.push("console."+k+": "+Array.prototype.join.call(arguments," "));return o.apply(console,arguments);};});
function finish(res){var pre=document.createElement("pre");pre.id="nm-probe";pre.textContent=JSON.stringify(res);document.body.appendChild(pre);}
window.addEventListener("load",function(){
  var res={load_ms:performance.now()};
  document.body.getBoundingClientRect();void document.body.offsetHeight;
  res.layout_ms=performance.now();
  res.initial_elements=document.getElementsByTagName("*").length;
  res.initial_logos=document.querySelectorAll("svg.logo").length;
  res.details=document.querySelectorAll("details").length;
  if(!__OPEN_ALL__){res.errors=errors;finish(res);return;}
  document.querySelectorAll("details").forEach(function(d){d.open=true;});
  // Let the toggle events of the opened sections run before measuring.
  setTimeout(function(){
    var logos=document.querySelectorAll("svg.logo"),bad=[];
    res.logos=logos.length;
    logos.forEach(function(s,i){var r=s.getBoundingClientRect();if(!(r.width>0&&r.height>0))bad.push(i);});
    res.empty_logos=bad.length;
    var glyphs=document.querySelectorAll(".glyph"),badg=0;
    glyphs.forEach(function(g){var b=g.getBBox();if(!(b.width>0&&b.height>0))badg++;});
    res.glyphs=glyphs.length;res.empty_glyphs=badg;
    res.defs=document.querySelectorAll("svg defs path[id]").length;
    var box=document.getElementById("filter"),only=document.getElementById("matched-only"),cnt=document.getElementById("count");
    if(box&&only&&cnt){
      res.count_initial=cnt.textContent;
      box.value="n0";only.dispatchEvent(new Event("change"));res.count_n0=cnt.textContent;
      box.value="";only.checked=true;only.dispatchEvent(new Event("change"));res.count_matched=cnt.textContent;
      only.checked=false;only.dispatchEvent(new Event("change"));
    }
    res.errors=errors;
    finish(res);
  },0);
});
})();
</script>"#;

/// Write a copy of `page` beside it (`<stem>.probe.html`) with the probe injected first in
/// `<head>`, and return its path.
pub fn probe_copy(page: &Path, open_all: bool) -> PathBuf {
    let html = std::fs::read_to_string(page).expect("read page");
    let probe = PROBE.replace("__OPEN_ALL__", if open_all { "true" } else { "false" });
    let injected = html.replacen("<head>", &format!("<head>{probe}"), 1);
    assert_ne!(injected, html, "page has no <head>");
    let stem = page.file_stem().unwrap().to_string_lossy();
    let out = page.with_file_name(format!("{stem}.probe.html"));
    std::fs::write(&out, injected).expect("write probe copy");
    out
}

/// The probe's JSON from a dumped DOM.
pub fn probe_result(dom: &str) -> Option<serde_json::Value> {
    let start = dom.find("<pre id=\"nm-probe\">")? + "<pre id=\"nm-probe\">".len();
    let end = start + dom[start..].find("</pre>")?;
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&text).ok()
}
