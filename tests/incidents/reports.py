"""Short reports written in the style of several outlets about the same events: a bombing in
Istanbul told by three outlets and followed up with a higher toll, a shooting in the same city two
days later whose report retells the bombing as background, a second bombing in the city a week
later, the first bombing's anniversary a year later, and an unrelated flood elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.models import Item

D = datetime


def at(day: str, hour: int, minute: int = 0) -> datetime:
    year, month, dom = (int(p) for p in day.split("-"))
    return datetime(year, month, dom, hour, minute, tzinfo=UTC)


# key: (source, published, title, text)
REPORTS: dict[str, tuple[str, datetime, str, str]] = {
    "istiklal-wire": ("wire", at("2026-03-08", 14, 5), "Explosion on Istanbul's Istiklal Avenue kills six, wounds 53",
        "ISTANBUL, March 8 - An explosion tore through Istanbul's crowded Istiklal Avenue on Sunday afternoon, "
        "killing six people and wounding 53, Vice President Fuat Oktay said. Oktay said the blast appeared to be "
        "an act of terrorism carried out by a woman who had left a bag on a bench.\n\nFootage on social media "
        "showed flames and a loud bang as pedestrians ran away. Police cordoned off the area."),
    "istiklal-ap": ("agency", at("2026-03-08", 14, 40),
        "Blast on busy Istanbul pedestrian street kills 6, injures dozens",
        "ISTANBUL - A bomb exploded on Istanbul's bustling Istiklal Avenue on Sunday, killing six people and "
        "injuring 53 others, Turkish officials said. Vice President Fuat Oktay described the explosion as a "
        "terrorist attack.\n\nThe avenue, a popular shopping street, was packed with shoppers and tourists when "
        "the explosion occurred at about 4:20 p.m. Emergency crews took the wounded to nearby hospitals."),
    "istiklal-bbc": ("broadcaster", at("2026-03-08", 15, 10),
        "Istanbul: Six dead in Istiklal shopping street explosion",
        "At least six people have been killed and 53 injured in an explosion on Istiklal Avenue, a busy "
        "shopping street in central Istanbul. Turkish Vice President Fuat Oktay said a woman was believed to have "
        "detonated the bomb on Sunday afternoon.\n\nPresident Erdogan called it a vile attack and said those "
        "responsible would be punished. The area around Taksim Square was sealed off."),
    "istiklal-toll": ("wire", at("2026-03-09", 9, 30),
        "Istiklal bombing death toll rises to eight; police detain suspect",
        "ISTANBUL, March 9 - The death toll from Sunday's bombing on Istanbul's Istiklal Avenue rose to eight on "
        "Monday after two of the wounded died in hospital, Interior Minister Suleyman Soylu said. Police detained "
        "a woman suspected of planting the bomb and 46 other people.\n\nSoylu said the attack was ordered from "
        "abroad. Dozens of the 53 people wounded remain in hospital."),
    "sariyer-shooting": ("agency", at("2026-03-10", 11, 0), "Gunmen kill two at church in Istanbul's Sariyer district",
        "ISTANBUL - Two masked gunmen opened fire during morning mass at the Italian Catholic church in Istanbul's "
        "Sariyer district on Tuesday, killing two worshippers, the governor's office said. The attackers fled on "
        "foot and a manhunt is under way.\n\nThe attack comes two days after an explosion on Istiklal Avenue "
        "killed six people and wounded 53, the deadliest bombing in Istanbul in years."),
    "kadikoy-bomb": ("wire", at("2026-03-15", 18, 20), "Bomb near Istanbul ferry terminal wounds 11",
        "ISTANBUL, March 15 - A bomb hidden in a rubbish bin exploded near the Kadikoy ferry terminal on the Asian "
        "side of Istanbul on Sunday evening, wounding 11 people, Governor Ali Yerlikaya said. No group claimed "
        "responsibility.\n\nThe blast came a week after the Istiklal Avenue bombing that killed eight."),
    "kadikoy-bomb-2": ("broadcaster", at("2026-03-15", 19, 0), "Eleven hurt as bomb attack hits Kadikoy in Istanbul",
        "An explosion near the busy Kadikoy ferry pier in Istanbul has injured 11 people, Istanbul Governor Ali "
        "Yerlikaya said on Sunday. The bomb had been left in a rubbish bin beside the terminal, he said.\n\n"
        "Police sealed off the waterfront."),
    "istiklal-anniversary": ("broadcaster", at("2027-03-08", 10, 0),
        "Istanbul marks a year since Istiklal Avenue bombing",
        "Hundreds gathered on Istanbul's Istiklal Avenue on Monday to remember the eight people killed in the "
        "bombing a year ago. Security was tight as police searched bags at both ends of the avenue, fearing "
        "another terrorist attack.\n\nThe woman accused of planting the bomb is on trial."),
    "porto-alegre-flood": ("wire", at("2026-03-08", 16, 0), "Floods in Brazil's Porto Alegre kill 12",
        "PORTO ALEGRE, March 8 - Floods caused by torrential rain killed 12 people in the southern Brazilian city "
        "of Porto Alegre, the civil defence said on Sunday, as the Guaiba river burst its banks.\n\nThousands "
        "were evacuated."),
}

EVENTS = {
    "istiklal": {"istiklal-wire", "istiklal-ap", "istiklal-bbc", "istiklal-toll"},
    "sariyer": {"sariyer-shooting"},
    "kadikoy": {"kadikoy-bomb", "kadikoy-bomb-2"},
    "anniversary": {"istiklal-anniversary"},
    "flood": {"porto-alegre-flood"},
}


def item(key: str) -> Item:
    source, published, title, text = REPORTS[key]
    return Item(id=key, source=source, title=title, text=text, published=published, first_seen=published,
                content_hash=key)
