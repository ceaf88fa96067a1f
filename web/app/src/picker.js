// The "New conversation" dialog: find a person, open (or find) the
// conversation with them.
import { $, el, say, show } from "./dom.js";
import { api, describe } from "./api.js";

export class Picker {
  constructor(store, { loadUsers, onPick, signal }) {
    this.store = store;
    this.loadUsers = loadUsers;
    this.onPick = onPick;
    this.dialog = $("#picker");
    this.filter = $("#picker-filter");
    this.filter.addEventListener("input", () => this.render(), { signal });
    // Enter in the search box picks the first match rather than closing
    // the dialog (its form's default).
    this.filter.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      $("#picker-list button")?.click();
    }, { signal });
    $("#picker-list").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-id]");
      if (button) this.pick(Number(button.dataset.id));
    }, { signal });
  }

  async open() {
    say($(".error", this.dialog));
    this.filter.value = "";
    this.render();
    this.dialog.showModal();
    this.filter.focus();
    try {
      await this.loadUsers();
      this.render();
    } catch (err) {
      say($(".error", this.dialog), `Could not load the people. ${describe(err)}`);
    }
  }

  render() {
    const q = this.filter.value.trim().toLowerCase();
    const people = [...this.store.users.values()]
      .filter((u) => u.id !== this.store.me.id)
      .filter((u) => !q || [u.name, u.subname, `${u.name} ${u.subname}`, u.email, u.job].some((s) => s.toLowerCase().includes(q)))
      .sort((a, b) => `${a.name} ${a.subname}`.localeCompare(`${b.name} ${b.subname}`));
    $("#picker-list").replaceChildren(...people.slice(0, 200).map((u) =>
      el("li", {},
        el("button", { type: "button", class: "person", "data-id": u.id },
          el("span", { class: "person-name" }, `${u.name} ${u.subname}`),
          el("span", { class: "muted" }, `${u.job} · ${u.email}`)))));
    const empty = $("#picker-empty");
    if (people.length > 0) show(empty, false);
    else say(empty, q ? `Nobody matches “${this.filter.value.trim()}”.` : "Nobody else has an account yet.");
  }

  async pick(userId) {
    try {
      const { data } = await api("POST", "/api/conversations", { conversation: { recipient_id: userId } });
      this.dialog.close();
      this.onPick(data.data);
    } catch (err) {
      say($(".error", this.dialog), describe(err));
    }
  }
}
