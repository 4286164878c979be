"""Per-site boilerplate learning and feed content:encoded fragments."""

import json

from monitor.extract import SiteBoilerplate, extract_fragment

SIGNATURE = "Salam sayang dari admin. Jangan lupa like dan share artikel ini ya!"
DISCLAIMER = "Disclaimer: this post may contain affiliate links. We earn a commission at no cost to you."
ONE_OFF = "The harbour froze over in 1947 for the first time in living memory."


def post(i: int, extra: str = "") -> str:
    body = [
        f"Post number {i} is about topic {'abcdefghij'[i]}: a paragraph only this post has, "
        f"with its own words such as {'alpha beta gamma delta epsilon zeta eta theta iota kappa'.split()[i]}.",
        f"A second paragraph of post {'abcdefghij'[i]} that differs from every other post on the site.",
    ]
    if extra:
        body.append(extra)
    body += [SIGNATURE, DISCLAIMER + f"\nUpdated {2020 + i}"]
    return "\n\n".join(body)


def test_signature_in_five_posts_is_removed_sentence_in_one_is_kept():
    bp = SiteBoilerplate()
    posts = [post(i, ONE_OFF if i == 2 else "") for i in range(5)]
    for p in posts:
        bp.observe(p)
    cleaned = bp.strip(posts[2])
    assert SIGNATURE not in cleaned
    assert "Disclaimer" not in cleaned
    assert "Updated" not in cleaned  # the year differs; digits are normalised
    assert ONE_OFF in cleaned
    assert cleaned.startswith("Post number 2 is about topic c")
    # a new post of the site loses the learned signature before it is observed
    assert bp.strip(post(7)).split("\n\n") == post(7).split("\n\n")[:2]


def test_needs_three_distinct_posts():
    bp = SiteBoilerplate()
    bp.observe(post(0))
    bp.observe(post(0))  # the same post re-fetched does not count twice
    bp.observe(post(0) + " ")
    bp.observe(post(1))
    assert SIGNATURE in bp.strip(post(3))
    bp.observe(post(2))
    assert SIGNATURE not in bp.strip(post(3))


def test_an_edited_post_is_not_another_post():
    """Three versions of one post (its URL says so) do not make its paragraphs boilerplate."""
    bp = SiteBoilerplate()
    for edit in ("", "A typo fixed.", "A paragraph added later."):
        bp.observe(post(0, edit), url="https://site.example/p0")
    fourth = post(0, "Yet another edit.")  # stripped before it is stored: it must stay whole
    assert bp.strip(fourth) == fourth
    bp.observe(post(1), url="https://site.example/p1")
    bp.observe(post(2), url="https://site.example/p2")
    assert SIGNATURE not in bp.strip(post(0))  # three distinct posts: learned
    assert "Post number 0" in bp.strip(post(0))


def test_never_strips_a_whole_post():
    bp = SiteBoilerplate()
    for i in range(4):
        bp.observe(f"Same short notice.\n\n{SIGNATURE}\n\nvariant {'abcd'[i]}")
    assert bp.strip(f"Same short notice.\n\n{SIGNATURE}") == f"Same short notice.\n\n{SIGNATURE}"


def test_round_trip_through_json():
    bp = SiteBoilerplate()
    for i in range(5):
        bp.observe(post(i))
    data = json.loads(json.dumps(bp.to_dict()))
    again = SiteBoilerplate.from_dict(data)
    assert again.strip(post(3)) == bp.strip(post(3))
    assert again.to_dict() == bp.to_dict()
    assert SiteBoilerplate.from_dict(None).strip(post(1)) == post(1)
    assert SiteBoilerplate.from_dict({"version": 999}).counts == {}


def test_state_stays_bounded():
    bp = SiteBoilerplate(max_units=100, max_recent=50)
    for i in range(400):
        bp.observe(f"unique paragraph {i} " + "x" * (i % 7) + f"\n\nanother {i}a\n\n{SIGNATURE}")
    assert len(bp.counts) <= 100
    assert len(bp.recent) <= 50
    assert bp.is_boilerplate(SIGNATURE)


def test_a_new_signature_is_learned_when_the_state_is_full():
    """At the size bound, units seen once compete with each other: the newest win, so a site
    that starts a new signature line still learns it."""
    bp = SiteBoilerplate(max_units=100, max_recent=1000)
    def one_off(i: int) -> str:
        return f"paragraph {'abcdefghij'[i % 10]}{'klmnopqrst'[i // 10 % 10]}{'uvwxyz'[i // 100]}"

    for i in range(300):  # posts of paragraphs seen once fill the state
        bp.observe(one_off(i))
    for i in range(3):  # the signature starts; each post between brings a prune
        bp.observe(f"new post {'abc'[i]} with its own words\n\n{SIGNATURE}")
        for j in range(30):
            bp.observe(one_off(300 + 30 * i + j))
    assert bp.is_boilerplate(SIGNATURE)


def test_split_returns_what_was_removed():
    bp = SiteBoilerplate()
    for i in range(3):
        bp.observe(post(i))
    kept, removed = bp.split(post(5))
    assert SIGNATURE in removed and SIGNATURE not in kept and "Post number 5" in kept
    assert bp.split("nothing known here") == ("nothing known here", "")


def test_feed_fragment_keeps_post_drops_widgets():
    html = """
    <p>The council voted on Tuesday to close the old library and move its books to the school.</p>
    <h2>What happens next</h2>
    <ul><li>The building will be sold in spring.</li><li>A reading room opens in the town hall.</li></ul>
    <blockquote>We will keep every book, said the mayor, and more people will read them.</blockquote>
    <div class="sharedaddy"><h3>Share this:</h3><a href="#">Twitter</a> <a href="#">Facebook</a></div>
    <div class="feedflare"><a href="http://feeds.example/~ff/x"><img src="x"></a></div>
    <script>alert(1)</script>
    """
    assert extract_fragment(html).split("\n\n") == [
        "The council voted on Tuesday to close the old library and move its books to the school.",
        "What happens next",
        "The building will be sold in spring.",
        "A reading room opens in the town hall.",
        "We will keep every book, said the mayor, and more people will read them.",
    ]
    assert extract_fragment("") == ""
    assert extract_fragment(b"<p>caf\xe9 au lait, s'il vous pla\xeet, with a croissant.</p>") == "café au lait, s'il vous plaît, with a croissant."
