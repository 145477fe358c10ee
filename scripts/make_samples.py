"""Regenerate the binary samples (lighthouse-history.pdf and fixing-a-bicycle-puncture.docx) in samples/.

Run with the project's Python: `python scripts/make_samples.py`. The text samples are written by hand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import docx
from fpdf import FPDF

HERE = Path(__file__).resolve().parents[1] / "samples"
# Fixed so that regenerating does not change the documents' metadata.
WRITTEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

# One (heading, paragraphs) per PDF page. The core PDF fonts cover Latin-1 only: no curly quotes.
LIGHTHOUSE_PAGES = [
    ("Four Towers on One Rock", [
        "The Eddystone Rocks lie about fourteen miles south-west of Plymouth, a ragged reef of "
        "gneiss that is almost covered at high water. For centuries ships feeling their way into "
        "Plymouth Sound struck it in the dark, and no one believed a light could be kept on a rock "
        "so exposed to the full swell of the Atlantic.",
        "Henry Winstanley, a merchant and showman with a taste for mechanical curiosities, lost two "
        "of his own ships on the reef and resolved to mark it. His wooden tower, octagonal and richly "
        "decorated, was first lit in November 1698. Spray broke over the lantern in winter, so he "
        "enlarged and heightened the tower the following year.",
        "In November 1703 the Great Storm, the worst recorded in southern England, swept the tower "
        "from the rock. Winstanley himself was on the reef supervising repairs, and he, his workmen "
        "and the keepers all vanished with it. By morning almost nothing was left on the rock.",
    ]),
    ("Timber, Fire and Granite", [
        "The second tower, designed by John Rudyerd, was a smooth cone of timber built around courses "
        "of granite that gave it weight. Finished in 1709, it offered the sea no corners to grip and "
        "stood for nearly fifty years. Its end came not from water but from fire: in December 1755 the "
        "lantern caught alight and the wooden tower burned down to the rock.",
        "Henry Hall, a keeper aged ninety-four, fought the fire by throwing water upwards into the "
        "lantern and swallowed molten lead that dripped from the roof. He died some days later, and "
        "the doctor who examined him reported finding a piece of lead in his stomach.",
        "John Smeaton, asked to build the third tower, studied the problem as an engineer rather than "
        "a builder. He shaped his tower like the trunk of an oak, broad at the base and curving "
        "inwards, and cut every granite block to dovetail into its neighbours and into the rock itself, "
        "so that each course locked together like a single stone. Searching for a mortar that would set "
        "in the wet, he found that lime burned from limestone containing clay hardened under water, "
        "work that later led to modern cement. Smeaton's light was first shown in October 1759, "
        "from twenty-four tallow candles.",
    ]),
    ("The Tower That Stands Today", [
        "Smeaton's tower outlasted its own foundation. By the 1870s the sea had undercut the rock beneath "
        "it, and the whole tower shook when large waves struck. James Douglass of Trinity House designed "
        "a taller granite tower on a neighbouring ledge of the reef, and it was first lit in 1882.",
        "The upper part of Smeaton's tower was taken down stone by stone and rebuilt on Plymouth Hoe as a "
        "memorial, where visitors can still climb its narrow stairs. The stump of its base remains on the "
        "reef beside the Douglass tower, a reminder of how much each builder learned from the last.",
        "A helicopter pad was built above the lantern in 1980, and the light was automated in 1982, ending "
        "nearly three centuries of keepers living on the rock. The Eddystone is still the model for every "
        "tower built on a wave-swept rock: a tapering profile, interlocking masonry and a mortar that "
        "sets in the sea.",
    ]),
]

PUNCTURE_STEPS = {
    "Taking the wheel off": [
        "Shift to the smallest sprocket so the chain is slack.",
        "Open the brake quick release if your bike has rim brakes.",
        "Open the wheel's quick release or undo the axle nuts and lift the bike clear of the wheel.",
    ],
    "Finding the hole": [
        "Let out any remaining air and push the valve up into the tyre.",
        "Hook a tyre lever under the bead opposite the valve and run a second lever around the rim.",
        "Pull out the tube, pump a little air into it and listen, or pass it close to your cheek.",
        "Check the inside of the tyre for the thorn or glass that caused the puncture.",
    ],
    "Patching and refitting": [
        "Roughen the area around the hole with sandpaper and spread a thin film of vulcanising solution.",
        "Wait until the solution is touch-dry, then press the patch on firmly for a full minute.",
        "Put a little air in the tube, tuck it into the tyre and push the bead back on with your thumbs.",
        "Inflate to the pressure printed on the tyre wall and check the bead sits evenly all round.",
    ],
}
PUNCTURE_TABLE = [
    ("Symptom", "Likely cause", "Remedy"),
    ("Two small parallel slits", "Pinch flat from hitting a kerb", "Run higher pressure"),
    ("Hole on the rim side", "Sharp spoke end or worn rim tape", "Replace the rim tape"),
    ("Slow leak at the valve", "Loose valve core", "Tighten the core"),
]


def make_pdf(path: Path) -> None:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(WRITTEN)
    pdf.set_title("The Eddystone Lighthouse: A History")
    pdf.set_margins(22, 22)
    for number, (heading, paragraphs) in enumerate(LIGHTHOUSE_PAGES, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 10, "The Eddystone Lighthouse: A History")
            pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, heading)
        pdf.ln(2)
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(3)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    document = docx.Document()
    document.core_properties.author = "ingest_pipeline samples"
    document.core_properties.created = document.core_properties.modified = WRITTEN.replace(tzinfo=None)
    document.add_heading("Fixing a Bicycle Puncture", 0)
    document.add_paragraph(
        "A flat tyre ends more rides than any other fault, yet it takes only a quarter of an hour to "
        "mend at the roadside. Carry two tyre levers, a patch kit and a pump, and you need never walk home."
    )
    for heading, steps in PUNCTURE_STEPS.items():
        document.add_heading(heading, 1)
        for step in steps:
            document.add_paragraph(step, style="List Number")
    document.add_heading("When punctures keep coming back", 1)
    table = document.add_table(rows=0, cols=3)
    for row in PUNCTURE_TABLE:
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text
    document.add_paragraph(
        "If the new tube goes flat within a day, the cause is almost always still in the tyre: run your "
        "fingers slowly around the inside of the casing before fitting the next one."
    )
    document.save(str(path))


if __name__ == "__main__":
    make_pdf(HERE / "lighthouse-history.pdf")
    make_docx(HERE / "fixing-a-bicycle-puncture.docx")
