// printshop serve: listen for renders and swap in the new fragment, no reload.
(function () {
  const body = document.body;
  const fragment = body.dataset.fragment;
  const listen = body.dataset.listen;
  const live = document.getElementById("live");
  let asked = 0;  // fragments may arrive out of order: only the latest one asked for is shown
  async function refresh() {
    const mine = ++asked;
    const response = await fetch(fragment, { cache: "no-store" });
    const text = response.ok ? await response.text() : null;
    if (text !== null && mine === asked) {
      document.getElementById("content").innerHTML = text;
    }
  }
  function connect() {
    const source = new EventSource("/events");
    source.onopen = () => { live.textContent = "live"; live.classList.remove("off"); };
    source.onmessage = (event) => {
      if (event.data === listen || listen === "index") { refresh(); }
    };
    source.onerror = () => { live.textContent = "reconnecting…"; live.classList.add("off"); };
  }
  connect();
})();
