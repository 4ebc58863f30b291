/* What the pages used Bootstrap's 80 KB script for, and the theme's tab stops, without a long
   task at load (added by tools/booksite; see its docstring).

   - The header's dropdowns (launch, repository, download): open on click, close on a click
     elsewhere, on Escape or when focus leaves; arrow keys move between the items.
   - Tooltips: the buttons keep their native title (Bootstrap moved it into a tooltip of its
     own); the one that had only data-bs-title gets it as its title.
   - The "back to top" button: shown while scrolling up, below the header.
   - Tab stops on scrollable code and outputs: the theme measured every block of the page at
     load, which made the browser lay out all of it (content-visibility skips it) in one long
     task. Here every such block starts focusable, and each is measured only when it comes near
     the screen, keeping tabindex 0 only if it scrolls (the theme's rule).
   - Wide tables (DataFrame outputs, markdown tables) scroll in their own box; one that does
     gets a fade at the edges that hide columns and a "scroll" hint (booksite.css).
   - The article header's sidebar buttons (navigation; "On this page" below 1200 px) work: the
     theme wires only the top header's, which are hidden.
   - Links to a section of a long page land on it, although the sections around it are laid
     out only once they come near the screen (content-visibility).
*/
(function () {
  "use strict";

  function dropdowns() {
    var toggles = Array.prototype.slice.call(
      document.querySelectorAll('[data-bs-toggle="dropdown"]'),
    );
    function menuOf(toggle) {
      var menu = toggle.nextElementSibling;
      return menu && menu.classList.contains("dropdown-menu") ? menu : null;
    }
    function items(toggle) {
      var menu = menuOf(toggle);
      return menu ? Array.prototype.slice.call(menu.querySelectorAll(".dropdown-item")) : [];
    }
    function setOpen(toggle, open) {
      var menu = menuOf(toggle);
      if (!menu) return;
      toggle.classList.toggle("show", open);
      menu.classList.toggle("show", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    function closeAll(except) {
      toggles.forEach(function (t) {
        if (t !== except && t.classList.contains("show")) setOpen(t, false);
      });
    }
    toggles.forEach(function (toggle) {
      var box = toggle.parentElement;
      toggle.addEventListener("click", function (event) {
        event.preventDefault();
        var open = !toggle.classList.contains("show");
        closeAll(toggle);
        setOpen(toggle, open);
      });
      box.addEventListener("keydown", function (event) {
        var list = items(toggle);
        var at = list.indexOf(document.activeElement);
        if (event.key === "Escape" && toggle.classList.contains("show")) {
          setOpen(toggle, false);
          toggle.focus();
          event.stopPropagation();
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          if (!list.length) return;
          event.preventDefault();
          closeAll(toggle);
          setOpen(toggle, true);
          var step = event.key === "ArrowDown" ? 1 : -1;
          var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : at + step;
          list[(next + list.length) % list.length].focus();
        }
      });
      box.addEventListener("focusout", function (event) {
        // Tab or a shortcut moved focus elsewhere (a click elsewhere is handled below)
        if (event.relatedTarget && !box.contains(event.relatedTarget)) setOpen(toggle, false);
      });
    });
    document.addEventListener("click", function (event) {
      var inToggle = event.target.closest && event.target.closest('[data-bs-toggle="dropdown"]');
      if (!inToggle) closeAll(null); // a click elsewhere, or on an item (it follows its link)
    });
  }

  function tooltips() {
    document.querySelectorAll("[data-bs-title]:not([title])").forEach(function (el) {
      el.setAttribute("title", el.getAttribute("data-bs-title"));
    });
  }

  function backToTop() {
    var button = document.getElementById("pst-back-to-top");
    var header = document.querySelector(".bd-header");
    if (!button) return;
    button.addEventListener("click", function () {
      document.body.scrollTop = 0;
      document.documentElement.scrollTop = 0;
    });
    var last = window.scrollY;
    var below = null; // the header's bottom, measured on the first scroll, not at load
    window.addEventListener(
      "scroll",
      function () {
        if (below === null) below = header ? header.getBoundingClientRect().bottom : 0;
        var y = window.scrollY;
        button.style.display = last > y && y > below ? "block" : "none";
        last = y;
      },
      { passive: true },
    );
  }

  // A table wider than its box: a fade at each edge that hides columns and a "scroll" hint
  // until the reader reaches the right edge (booksite.css draws them on the wrapper).
  var WIDE_TABLES = ".cell_output .output.text_html, .pst-scrollable-table-container";

  function wideTable(el) {
    if (!el.querySelector("table")) return;
    var frame = el.parentElement;
    var wide = el.scrollWidth > el.clientWidth + 1;
    if (!frame.classList.contains("booksite-wide")) {
      if (!wide) return;
      frame = document.createElement("div");
      frame.className = "booksite-wide";
      el.parentElement.insertBefore(frame, el);
      frame.appendChild(el);
      var hint = document.createElement("span");
      hint.className = "booksite-scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "scroll \u2192";
      frame.appendChild(hint);
      if (!el.hasAttribute("role")) {
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", "Table (scrolls sideways)");
      }
      el.addEventListener("scroll", function () { edges(el, frame); }, { passive: true });
    }
    edges(el, frame);
  }

  function edges(el, frame) {
    var left = el.scrollLeft;
    frame.classList.toggle("booksite-more-left", left > 1);
    frame.classList.toggle("booksite-more-right", left + el.clientWidth < el.scrollWidth - 1);
  }

  var SCROLLABLE = [
    "pre",
    ".nboutput > .output_area",
    ".cell_output .output",
    ".jp-RenderedHTMLCommon",
    ".pst-scrollable-table-container",
  ].join(", ");

  function tabStops() {
    var blocks = document.querySelectorAll(SCROLLABLE);
    if (!blocks.length || !("IntersectionObserver" in window)) return;
    var near = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          var el = entry.target;
          el.tabIndex =
            el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight ? 0 : -1;
          if (el.matches(WIDE_TABLES)) wideTable(el);
        });
      },
      { rootMargin: "100% 0px" },
    );
    function observe() {
      near.disconnect();
      blocks.forEach(function (el) {
        near.observe(el); // reports each block once now, and again whenever it comes near
      });
    }
    blocks.forEach(function (el) {
      if (!el.hasAttribute("tabindex")) el.tabIndex = 0; // reachable until measured
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(observe, 300); // a new width: measure the blocks near the screen again
    });
    observe();
  }

  function settleAnchor(event) {
    // Sections far from the screen are not laid out (content-visibility, booksite.css): they
    // count as 1500 px until they are. After the browser scrolls to a #fragment, the sections
    // near it are laid out, and when they are taller or shorter than that, the target moves
    // (by hundreds of pixels on long chapters). Scroll to it again until it stays where
    // scrolling puts it, for at most a second, and never once the reader scrolls.
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    var navigation = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    // Back, forward and reload restore where the reader was, not the fragment: leave that be.
    if (!event && navigation && navigation.type !== "navigate") return;
    var stop = false;
    var events = ["wheel", "touchstart", "keydown", "mousedown"];
    function cancel() {
      stop = true;
    }
    events.forEach(function (name) {
      window.addEventListener(name, cancel, { passive: true });
    });
    target.scrollIntoView();
    var want = target.getBoundingClientRect().top;
    var frames = 0;
    var still = 0;
    function check() {
      var top = stop ? want : target.getBoundingClientRect().top;
      if (Math.abs(top - want) > 1) {
        target.scrollIntoView();
        want = target.getBoundingClientRect().top;
        still = 0;
      } else {
        still += 1;
      }
      if (!stop && still < 10 && ++frames < 60) {
        requestAnimationFrame(check);
      } else {
        events.forEach(function (name) {
          window.removeEventListener(name, cancel);
        });
      }
    }
    requestAnimationFrame(check);
  }

  function sidebarButtons() {
    // The article header's sidebar buttons (the navigation's, at every width, and "On this
    // page", below 1200 px) are the ones on screen, but the theme's scripts wire only the
    // first of each kind in the page, the hidden ones in the top header: these press those.
    ["primary-toggle", "secondary-toggle"].forEach(function (kind) {
      var wired = document.querySelector("." + kind); // what the theme wires: the first
      var button = document.querySelector(".bd-header-article ." + kind);
      if (!wired || !button || wired === button) return;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        wired.click();
      });
    });
  }

  function ready(callback) {
    if (document.readyState !== "loading") callback();
    else document.addEventListener("DOMContentLoaded", callback);
  }
  ready(dropdowns);
  ready(tooltips);
  ready(backToTop);
  ready(tabStops);
  ready(sidebarButtons);
  ready(function () {
    settleAnchor(null);
  });
  window.addEventListener("hashchange", settleAnchor);
})();
