// printshop serve: listen for renders and swap in the new fragment, no reload.
(function () {
  const body = document.body;
  const fragment = body.dataset.fragment;
  const listen = body.dataset.listen;
  const live = document.getElementById("live");
  async function refresh() {
    const response = await fetch(fragment, { cache: "no-store" });
    if (response.ok) {
      document.getElementById("content").innerHTML = await response.text();
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
