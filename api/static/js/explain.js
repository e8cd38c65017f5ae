/* The explanation view: factors, stress trajectory chart, highlighted transcript, emotions. */
"use strict";

const Explain = (() => {
  const { h, svg, num, pct } = Clearline;

  /* Blue (lowers stress) to orange (raises it): distinguishable with the common colour-vision
     deficiencies, and each level also differs in lightness and underline weight. */
  function level(attribution, maxAbs) {
    if (!maxAbs) return null;
    const r = attribution / maxAbs;
    if (r >= 0.66) return "up-3";
    if (r >= 0.33) return "up-2";
    if (r >= 0.12) return "up-1";
    if (r <= -0.33) return "down-1";
    return null;
  }

  function renderFactors(list, escalation) {
    list.replaceChildren();
    if (!escalation) {
      list.append(h("li", { class: "empty" }, "Not escalated."));
      return;
    }
    const factors = [...(escalation.factors || [])].sort((a, b) => (b.contribution || 0) - (a.contribution || 0));
    const max = Math.max(1, ...factors.map((f) => Math.abs(f.contribution || 0)));
    for (const factor of factors) {
      const width = Math.round((Math.abs(factor.contribution || 0) / max) * 100);
      const bar = h("span", { class: "bar-fill" });
      bar.style.width = `${width}%`;
      /* a signal factor (capitals, "!!", emoji, profanity, threats, asking for a person) shows its words */
      const words = Array.isArray(factor.words) && factor.words.length
        ? h("span", { class: "factor-words" }, factor.words.map((w) => h("mark", { class: "sig" }, String(w.word))))
        : null;
      list.append(
        h("li", { class: "factor" },
          h("span", { class: "factor-name" }, factor.text || factor.factor),
          h("span", { class: "bar" }, bar),
          h("span", { class: "factor-value" }, `${factor.contribution >= 0 ? "+" : ""}${num(factor.contribution, 0)}`),
          words),
      );
    }
    list.append(h("li", { class: "factor total" },
      h("span", { class: "factor-name" }, `Priority ${escalation.priority} (${escalation.priority_band}), queue ${escalation.queue}`)));
  }

  /* The worker stores {pending: true} placeholders with the escalation, then fills each with the model's
     explanation or {error}: neither of those two means the escalation had no stressed words. */
  function faithfulnessSentence(explanations) {
    const all = explanations || [];
    const explanation = all.find((e) => e.score !== undefined && e.score_without_top !== undefined);
    if (!explanation) {
      if (all.some((e) => e.pending)) return "The word-level explanation is being computed; it appears here when ready.";
      if (all.some((e) => e.error)) return "The word-level explanation failed; the factors above are why this conversation was escalated.";
      return "No word-level explanation for this escalation (it was requested, not detected).";
    }
    const top = (explanation.words || []).filter((w) => w.attribution > 0)
      .sort((a, b) => b.attribution - a.attribution).slice(0, 3).map((w) => `“${w.word}”`);
    const words = top.length > 1 ? `these words (${top.join(", ")})` : top.length ? `the word ${top[0]}` : "the top words";
    if (explanation.score_without_top < explanation.score) {
      return `Removing ${words} lowers the stress score from ${num(explanation.score)} to ${num(explanation.score_without_top)}.`;
    }
    return `Removing ${words} does not lower the stress score (${num(explanation.score)} → ${num(explanation.score_without_top)}): read this explanation with caution.`;
  }

  /* What one turn of the trajectory says: its stress and whether the policy counts it, the policy's
     signals found in it, the model's top words or the explanation's state, and a way to the message. */
  function turnCard(turn, index, countsFrom, onShow) {
    const { value, message, explanation, factors } = turn;
    const reliable = !message || message.stress_reliable !== false;
    const parts = [h("strong", {}, `Message ${index + 1}`), ` · stress ${num(value)} · `,
      !reliable ? "not counted (a language the model does not read)" : value >= countsFrom ? `counted (from ${num(countsFrom)})` : `below ${num(countsFrom)}, not counted`];
    const signals = (factors || []).filter((f) => message && f.message_id === message.id);
    const lines = [h("p", {}, parts)];
    if (signals.length) lines.push(h("p", {}, "Signals: ", signals.map((f) => h("span", { class: "turn-signal" }, f.text || f.factor))));
    let words;
    if (!explanation) words = "No word-level explanation for this message (only escalating turns are explained).";
    else if (explanation.pending) words = "Word-level explanation: being computed.";
    else if (explanation.error) words = "Word-level explanation: failed.";
    else if (!(explanation.words || []).length) words = "Word-level explanation: no word stood out.";
    else {
      const top = [...explanation.words].sort((a, b) => (b.attribution || 0) - (a.attribution || 0)).slice(0, 3);
      words = h("span", {}, "Top words: ", top.map((w) => h("mark", { class: "hl up-2" }, String(w.word))));
    }
    lines.push(h("p", {}, words));
    if (message && onShow) lines.push(h("button", { type: "button", class: "link", onclick: () => onShow(message.id) }, "Show in the transcript"));
    return h("div", { class: "turn-card", role: "status" }, lines);
  }

  /* countsFrom: the stress from which the triage policy counts an utterance (the reference line).
     turns (optional): per point, {message, explanation, factors}, for the card a tap or hover shows. */
  function renderTrajectory(container, trajectory, countsFrom, turns = [], onShow = null) {
    container.replaceChildren();
    const values = (trajectory || []).map(Number).filter((v) => !Number.isNaN(v));
    if (!values.length) {
      container.append(h("p", { class: "muted small" }, "No scored customer messages yet."));
      return;
    }
    const W = 300, H = 110, P = 18;
    const x = (i) => P + (values.length === 1 ? (W - 2 * P) / 2 : (i * (W - 2 * P)) / (values.length - 1));
    const y = (v) => H - P - v * (H - 2 * P);
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "trajectory", role: "img",
      "aria-label": `Stress per customer message: ${values.map((v) => num(v)).join(", ")}` });
    chart.append(svg("line", { x1: P, x2: W - P, y1: y(countsFrom), y2: y(countsFrom), class: "threshold" }));
    chart.append(svg("text", { x: W - P, y: y(countsFrom) - 3, "text-anchor": "end", class: "axis" }, `triage counts from ${num(countsFrom)}`));
    for (const v of [0, 1]) chart.append(svg("text", { x: 2, y: y(v) + 3, class: "axis" }, v));
    chart.append(svg("polyline", { points: values.map((v, i) => `${x(i)},${y(v)}`).join(" "), class: "line" }));
    const card = h("div", { class: "turn-card-slot" });
    const show = (i) => {
      card.replaceChildren(turnCard({ value: values[i], ...(turns[i] || {}) }, i, countsFrom, onShow));
      chart.querySelectorAll("circle").forEach((c, j) => c.classList.toggle("selected", j === i));
    };
    values.forEach((v, i) => {
      const dot = svg("circle", { cx: x(i), cy: y(v), r: 5, class: v >= countsFrom ? "dot high" : "dot", tabindex: 0,
        role: "button", "aria-label": `message ${i + 1}: stress ${num(v)}`, "data-turn": i });
      dot.append(svg("title", {}, `message ${i + 1}: stress ${num(v)}`));
      // a tap on a touch screen is a click; hover and keyboard focus show the same card
      for (const event of ["click", "mouseenter", "focus"]) dot.addEventListener(event, () => show(i));
      dot.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(i); } });
      chart.append(dot);
    });
    container.append(chart, card);
  }

  function explanationFor(message, explanations) {
    return (explanations || []).find((e) => e.message_id === message.id);
  }

  /* The stored offsets (redactions, the model's words, the signals' words) count Unicode code points, as
     Python does; JavaScript's strings count UTF-16 units, so after an emoji they differ: the same items
     with their offsets in units (an offset past the text becomes -1, and the item is dropped), and the
     item as stored in `stored` (feedback names words by their stored offsets). */
  function inUnits(text, items) {
    const units = [0];
    for (const char of text) units.push(units[units.length - 1] + char.length);
    const unit = (offset) => (Number.isInteger(offset) && offset >= 0 && offset < units.length ? units[offset] : -1);
    return items.map((item) => ({ ...item, start: unit(item.start), end: unit(item.end), stored: item }));
  }

  /* A message's redactions (<EMAIL>, <CARD_NUMBER>...) become labelled chips where its stored spans say,
     never where its text looks like one: a customer who types "<EMAIL>" or "<SCRIPT>" sees those
     characters. Messages stored before the spans were (redactions null) show their text as it is. */
  const PLACEHOLDER = /^<([A-Z_]{1,32})>$/;

  function redactionSpans(message) {
    const length = message.text.length;
    const spans = inUnits(message.text, message.redactions || [])
      .filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.start < s.end && s.end <= length)
      .sort((a, b) => a.start - b.start);
    return spans.filter((s, i) => i === 0 || s.start >= spans[i - 1].end);
  }

  function chip(text, span) {
    const placeholder = PLACEHOLDER.exec(text.slice(span.start, span.end));
    const label = placeholder ? placeholder[1].replaceAll("_", " ").toLowerCase() : "redacted";
    return h("span", { class: "pii", title: "redacted before it was stored" }, label);
  }

  /* text[from, to) as text, with a chip for each redaction inside it; `plain` renders the text between
     (by default as it is; addableWords makes the customer's words clickable). */
  function withRedactions(text, from, to, spans, plain = (a, b) => [text.slice(a, b)]) {
    const parts = [];
    let cursor = from;
    for (const span of spans) {
      if (span.start < cursor || span.end > to) continue;
      parts.push(...plain(cursor, span.start), chip(text, span));
      cursor = span.end;
    }
    parts.push(...plain(cursor, to));
    return parts.filter((part) => part !== "");
  }

  /* A word a person may add to the highlights: letters and digits (with inner apostrophes and hyphens),
     or one emoji. */
  const WORD = /[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}_]|['’-](?=[\p{L}\p{N}]))*|\p{Extended_Pictographic}/gu;

  /* The code point index of each UTF-16 unit offset of `text` (the API counts code points). */
  function codePoints(text) {
    const points = new Array(text.length + 1);
    let point = 0;
    for (let unit = 0; unit < text.length;) {
      const width = text.codePointAt(unit) > 0xffff ? 2 : 1;
      points[unit] = point;
      if (width === 2) points[unit + 1] = point;
      unit += width;
      point += 1;
    }
    points[text.length] = point;
    return points;
  }

  /* The customer's plain words between the marks: an added word is marked "added"; while `adding.active`
     every other word is a toggle (a click, a tap, Enter or Space) that adds it. Offsets sent are code
     points of the stored text; the key is the same as the API's word. */
  function addableWords(message, adding) {
    if (!adding || message.sender !== "customer") return undefined;
    const text = message.text;
    let points = null;
    return (from, to) => {
      const parts = [];
      let cursor = from;
      for (const match of text.slice(from, to).matchAll(WORD)) {
        const start = from + match.index, end = start + match[0].length;
        points = points || codePoints(text);
        const word = { message_id: message.id, start: points[start], end: points[end], word: match[0] };
        const key = `${message.id}:${word.start}:${word.end}`;
        const isAdded = adding.isAdded(key);
        if (!isAdded && !adding.active) continue;
        parts.push(text.slice(cursor, start));
        const attrs = isAdded ? { class: "added", title: "added: should have been highlighted" } : { class: "addable" };
        const node = h("span", { ...attrs, dataset: { key } }, match[0]);
        if (adding.active) {
          node.setAttribute("role", "button");
          node.setAttribute("tabindex", "0");
          node.setAttribute("aria-pressed", String(isAdded));
          const toggle = () => {
            const now = adding.toggle(key, word);
            node.classList.toggle("added", now);
            node.classList.toggle("addable", !now);
            node.setAttribute("aria-pressed", String(now));
          };
          node.addEventListener("click", toggle);
          node.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); } });
        }
        parts.push(node);
        cursor = end;
      }
      parts.push(text.slice(cursor, to));
      return parts;
    };
  }

  /* The words the policy's signal factors point at in this message: {start, end, word, label}, in
     order, without overlaps or redactions. */
  function signalWords(message, factors, spans) {
    const text = message.text;
    const words = (factors || [])
      .filter((f) => f.message_id === message.id && Array.isArray(f.words))
      .flatMap((f) => f.words.map((w) => ({ start: w.start, end: w.end, word: w.word, label: f.text || f.factor })));
    const found = inUnits(text, words)
      .filter((w) => w.start >= 0 && w.start < w.end && text.slice(w.start, w.end) === w.word)
      .filter((w) => !spans.some((s) => w.start < s.end && s.start < w.end))
      .sort((a, b) => a.start - b.start);
    return found.filter((w, i) => i === 0 || w.start >= found[i - 1].end);
  }

  /* Split a message into plain and highlighted spans using the explanation's character offsets (into the
     redacted text, as the model read it); a placeholder stays a chip, never a highlighted word. The words
     of the policy's signals are marked around them (a model word inside a signal's phrase keeps its own
     mark; a signal that would cut a model word in two is only listed with its factor). */
  function highlightedText(message, explanation, isUnmarked, onToggle, factors, adding) {
    const text = message.text;
    const spans = redactionSpans(message);
    const explained = explanation && explanation.words ? explanation.words : [];
    const maxAbs = Math.max(0, ...explained.map((w) => Math.abs(w.attribution)));
    const words = [];
    for (const word of inUnits(text, explained)
      .filter((w) => text.slice(w.start, w.end) === w.word)
      .filter((w) => !spans.some((s) => w.start < s.end && s.start < w.end))
      .sort((a, b) => a.start - b.start)) {
      const cls = level(word.attribution, maxAbs);
      if (cls && (!words.length || word.start >= words[words.length - 1].end)) words.push({ ...word, cls });
    }
    ranked(words, explained);
    const signals = signalWords(message, factors, spans).filter((s) =>
      !words.some((w) => w.start < s.end && s.start < w.end && (w.start < s.start || w.end > s.end)));
    const plain = addableWords(message, adding);
    const marks = (from, to) => modelMarks(message, words, from, to, spans, isUnmarked, onToggle, plain);
    const parts = [];
    let cursor = 0;
    for (const signal of signals) {
      parts.push(...marks(cursor, signal.start));
      parts.push(h("mark", { class: "sig", title: signal.label }, marks(signal.start, signal.end)));
      cursor = signal.end;
    }
    parts.push(...marks(cursor, text.length));
    return parts;
  }

  /* Each highlighted word's rank among the message's highlighted words (by attribution, highest first)
     and its share of the message's total positive attribution (all the explanation's words), for its card. */
  function ranked(words, explained) {
    const positive = explained.reduce((sum, w) => sum + Math.max(0, Number(w.attribution) || 0), 0);
    const order = [...words].sort((a, b) => b.attribution - a.attribution || a.start - b.start);
    for (const word of words) {
      word.rank = order.indexOf(word) + 1;
      word.of = words.length;
      word.share = positive > 0 && word.attribution > 0 ? word.attribution / positive : null;
    }
  }

  function ordinal(n) {
    const suffix = ["th", "st", "nd", "rd"], v = n % 100;
    return `${n}${suffix[(v - 20) % 10] || suffix[v] || suffix[0]}`;
  }

  /* The card of a highlighted word: what its attribution means, its rank and share, and the unmark button.
     role="dialog" (non-modal), not "tooltip": a tooltip may hold nothing interactive and this card holds a
     button. It opens without taking focus (the word keeps it, and the word's aria-describedby points at
     the card's text, so a screen reader reads it on focus); it sits in the document right after the word
     (after the signal's mark around it), so Tab goes from the word to its button. One card at a time:
     Escape, a tap or click elsewhere, Tab away, or another word's card closes it; a card opened by a
     mouse hover closes when the mouse leaves the word and the card. Fixed positioning, kept inside the
     viewport (below the word, above it where there is no room). */
  const WordCard = (() => {
    let open = null;  // {card, mark, content, via: "hover" | "focus" | "tap"}
    let pressed = null;  // {mark, type, at}: the pointer that went down on a word, until its click
    let closeTimer = 0;
    let refocusing = false;
    let installed = false;

    function close(returnFocus = false) {
      clearTimeout(closeTimer);
      if (!open) return;
      const { card, mark } = open;
      const focusInside = card.contains(document.activeElement);
      open = null;
      card.remove();
      mark.setAttribute("aria-expanded", "false");
      mark.removeAttribute("aria-controls");
      mark.removeAttribute("aria-describedby");
      if (returnFocus && focusInside && mark.isConnected) {
        refocusing = true;  // back on the word without opening its card again
        mark.focus();
        refocusing = false;
      }
    }

    function place() {
      if (!open) return;
      const { card, mark } = open;
      const margin = 8, gap = 6;
      const word = mark.getBoundingClientRect(), box = card.getBoundingClientRect();
      const width = document.documentElement.clientWidth, height = document.documentElement.clientHeight;
      let top = word.bottom + gap;
      if (top + box.height > height - margin) top = word.top - gap - box.height;
      top = Math.max(margin, Math.min(top, height - margin - box.height));
      const left = Math.max(margin, Math.min(word.left, width - margin - box.width));
      card.style.top = `${Math.round(top)}px`;
      card.style.left = `${Math.round(left)}px`;
    }

    function install() {
      if (installed) return;
      installed = true;
      // a tap or click anywhere but the word and its card closes it (capture: before any handler below)
      document.addEventListener("pointerdown", (event) => {
        if (open && !open.card.contains(event.target) && !open.mark.contains(event.target)) close();
      }, true);
      document.addEventListener("keydown", (event) => { if (event.key === "Escape" && open) close(true); });
      window.addEventListener("scroll", place, true);
      window.addEventListener("resize", place);
    }

    function show(mark, content, via) {
      install();
      clearTimeout(closeTimer);
      if (open && open.mark === mark && open.card.isConnected) {
        if (via !== "hover") open.via = via;  // a tap or focus keeps it open when the mouse leaves
        return;
      }
      close();
      const card = h("span", { class: "word-card", id: "word-card", role: "dialog", tabindex: -1,
        "aria-label": `Why “${mark.textContent}” is highlighted` });
      card.addEventListener("pointerenter", (event) => { if (event.pointerType === "mouse") clearTimeout(closeTimer); });
      card.addEventListener("pointerleave", (event) => { if (event.pointerType === "mouse") leave(); });
      card.addEventListener("focusout", focusOut);
      (mark.closest("mark.sig") || mark).after(card);
      open = { card, mark, content, via };
      refresh(mark);
      mark.setAttribute("aria-expanded", "true");
      mark.setAttribute("aria-controls", "word-card");
      mark.setAttribute("aria-describedby", "word-card-text");
    }

    function refresh(mark) {
      if (!open || open.mark !== mark) return;
      const onButton = open.card.contains(document.activeElement) && document.activeElement.matches("button");
      open.card.replaceChildren(...open.content());
      if (onButton) open.card.querySelector("button").focus();  // the new button keeps the old one's focus
      place();
    }

    function leave() {
      if (!open || open.via !== "hover") return;
      clearTimeout(closeTimer);
      closeTimer = setTimeout(() => { if (open && open.via === "hover") close(); }, 300);
    }

    /* Tab away from the word or its card closes it; focus lost to nothing (a tap on plain text) is the
       document's pointerdown's to decide. */
    function focusOut(event) {
      const to = event.relatedTarget;
      if (open && to && !open.card.contains(to) && to !== open.mark) close();
    }

    /* A word's handlers. Touch or mouse is told per gesture by the pointer events' pointerType, not by
       matchMedia("(hover: none)"): a laptop with a touch screen has both, and its media query describes
       only the primary pointer. A pen counts as touch (no reliable hover, an imprecise tap). */
    function bind(mark, content, toggle) {
      const touchLike = (type) => type === "touch" || type === "pen";
      mark.addEventListener("pointerenter", (event) => { if (event.pointerType === "mouse") show(mark, content, "hover"); });
      mark.addEventListener("pointerleave", (event) => { if (event.pointerType === "mouse") leave(); });
      mark.addEventListener("pointerdown", (event) => { pressed = { mark, type: event.pointerType, at: performance.now() }; });
      const pressedHere = () => pressed && pressed.mark === mark && performance.now() - pressed.at < 1500;
      mark.addEventListener("focus", () => {
        if (refocusing) return;
        const byPointer = pressedHere();
        show(mark, content, byPointer ? (touchLike(pressed.type) ? "tap" : "hover") : "focus");
      });
      mark.addEventListener("focusout", focusOut);
      mark.addEventListener("click", (event) => {
        const type = event.pointerType || (pressedHere() ? pressed.type : "");
        pressed = null;
        // on touch the first tap is how one reads the card: the card's button unmarks
        if (touchLike(type)) show(mark, content, "tap");
        else toggle();  // a mouse click (or a scripted one) unmarks at once, as before the card
      });
      mark.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
      });
    }

    return { bind, refresh, close };
  })();

  /* What the card of a highlighted word says. */
  function wordCardContent(word, unmarked, toggle) {
    const a = word.attribution;
    const meaning = a >= 0 ? "pushed stress up" : "pulled it down";
    const share = word.share !== null && word.share !== undefined
      ? `${pct(word.share)} of this message's total positive attribution`
      : "no share of this message's positive attribution (it lowers the score)";
    return [
      h("strong", { class: "word-card-word" }, `“${word.word}”`),
      h("span", { class: "word-card-text", id: "word-card-text" },
        h("span", { class: "word-card-line" }, `Attribution ${a >= 0 ? "+" : ""}${num(a, 3)}: ${meaning}`),
        h("span", { class: "word-card-line" }, `${ordinal(word.rank)} of ${word.of} in this message`),
        h("span", { class: "word-card-line" }, share),
        unmarked ? h("span", { class: "word-card-line word-card-state" }, "Unmarked: sent with your verdict as not a reason.") : null),
      h("button", { type: "button", class: "btn small word-card-toggle", onclick: toggle },
        unmarked ? "Mark again" : "Not a reason (unmark)"),
    ];
  }

  /* text[from, to) with the model's highlighted words inside it and a chip for each redaction. Each word
     opens its card (WordCard) on hover, focus and tap; a mouse click, Enter or Space unmarks it. */
  function modelMarks(message, words, from, to, spans, isUnmarked, onToggle, plain) {
    const text = message.text;
    const parts = [];
    let cursor = from;
    for (const word of words) {
      if (word.start < cursor || word.end > to) continue;
      const cls = word.cls;
      parts.push(...withRedactions(text, cursor, word.start, spans, plain));
      const { start, end } = word.stored;  // as stored: what feedback sends back
      const key = `${message.id}:${start}:${end}`;
      const mark = h("mark", {
        class: `hl ${cls}${isUnmarked(key) ? " unmarked" : ""}`,
        tabindex: 0,
        role: "button",
        "aria-haspopup": "dialog",
        "aria-expanded": "false",
        dataset: { key, attribution: word.attribution },
      }, word.word);
      const toggle = () => {
        onToggle(key, { message_id: message.id, start, end, word: word.word }, mark);
        WordCard.refresh(mark);
      };
      WordCard.bind(mark, () => wordCardContent(word, isUnmarked(key), toggle), toggle);
      parts.push(mark);
      cursor = word.end;
    }
    parts.push(...withRedactions(text, cursor, to, spans, plain));
    return parts;
  }

  const SENDER_LABEL = { customer: "Customer", bot: "Assistant", agent: "Agent", system: "System" };

  /* factors: the escalation's, whose signal factors point into a message by its id. adding (optional):
     {active, isAdded(key), toggle(key, word) -> added?} for the words people add to the highlights. */
  function renderTranscript(list, messages, explanations, isUnmarked, onToggle, factors = [], adding = null) {
    list.replaceChildren();
    for (const message of messages) {
      const explanation = explanationFor(message, explanations);
      const meta = [h("span", { class: "sender" }, SENDER_LABEL[message.sender] || message.sender)];
      if (message.language) meta.push(languageLabel(message));
      if (message.stress !== null && message.stress !== undefined && message.stress_reliable === false) {
        /* the emotion model was trained on English: the policy does not count this score */
        meta.push(h("span", { class: "stress-chip unreliable", title: "stress score of a language the emotion model does not read: not counted" }, `stress ${num(message.stress)}`));
        meta.push(h("span", { class: "unreliable-note" }, "unreliable"));
      } else if (message.stress !== null && message.stress !== undefined) {
        meta.push(h("span", { class: `stress-chip${message.flagged ? " high" : ""}`, title: "stress score" }, `stress ${num(message.stress)}`));
      }
      if (message.intent) meta.push(h("span", { class: "intent" }, message.intent));
      if (message.sender === "agent" && message.delivered === false) meta.push(h("span", { class: "pending" }, "sending…"));
      list.append(h("li", { class: `msg ${message.sender}${explanation ? " explained" : ""}`, dataset: { messageId: message.id } },
        h("div", { class: "msg-meta" }, meta),
        h("p", { class: "msg-text" }, highlightedText(message, explanation, isUnmarked, onToggle, factors, adding))));
    }
    if (!messages.length) list.append(h("li", { class: "empty" }, "No messages yet."));
  }

  /* the message's language (ISO 639-1); dashed when it was too short to tell and took the conversation's */
  function languageLabel(message) {
    const inherited = message.language_confidence === null || message.language_confidence === undefined;
    const title = inherited
      ? "language of the conversation (this message is too short to tell)"
      : `language detected (confidence ${num(message.language_confidence)})`;
    return h("span", { class: `lang${inherited ? " inherited" : ""}`, title }, String(message.language).toUpperCase());
  }

  function renderEmotions(list, messages) {
    list.replaceChildren();
    const scored = [...messages].reverse().find((m) => m.sender === "customer" && m.emotions);
    if (!scored) {
      list.append(h("li", { class: "empty" }, "No emotion scores yet."));
      return;
    }
    const raw = scored.emotions.emotions || scored.emotions;
    const labels = new Set(scored.labels || []);
    const top = Object.entries(raw).filter(([, p]) => typeof p === "number").sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [label, p] of top) {
      const fill = h("span", { class: "bar-fill" });
      fill.style.width = `${Math.round(p * 100)}%`;
      list.append(h("li", { class: labels.has(label) ? "emotion on" : "emotion" },
        h("span", { class: "emotion-name" }, label), h("span", { class: "bar" }, fill), h("span", { class: "emotion-p" }, pct(p))));
    }
  }

  return { renderFactors, faithfulnessSentence, renderTrajectory, renderTranscript, renderEmotions, level };
})();
