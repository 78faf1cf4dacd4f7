"""QGIS styles: the class palette and the confidence ramp, as XML QGIS reads."""

import xml.etree.ElementTree as ET
from pathlib import Path

from geoseg.io.styles import CONFIDENCE_RAMP, confidence_qml

README = Path(__file__).resolve().parents[2] / "README.md"


def _parse(text: str) -> ET.Element:
    assert text.startswith("<!DOCTYPE qgis")
    return ET.fromstring(text.split("\n", 1)[1])


def test_confidence_style_is_a_fixed_ramp_from_0_to_100_percent() -> None:
    text = confidence_qml()
    root = _parse(text)
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("type") == "singlebandpseudocolor"
    shader = renderer.find("rastershader/colorrampshader")
    assert shader is not None and shader.get("colorRampType") == "INTERPOLATED"
    assert (shader.get("minimumValue"), shader.get("maximumValue")) == ("0", "100")
    values = [int(i.get("value", "-1")) for i in shader.iter("item")]
    assert values[0] == 0 and values[-1] == 100 and values == sorted(values)
    assert shader.find("colorramp") is not None
    assert f"colour ramp: {CONFIDENCE_RAMP}" in text


def test_readme_lists_the_new_outputs() -> None:
    table = [line for line in README.read_text().splitlines() if line.startswith("| `<scene>")]
    for name in ("_confidence.qml", "_probabilities.tif", "_quicklook.png"):
        assert any(f"<scene>{name}" in row for row in table), name
